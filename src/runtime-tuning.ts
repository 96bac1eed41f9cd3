// V8 settings for a long-running broker process. Imported first by main.ts, so they
// apply before the rest of the code is loaded.
//
// --interrupt-budget: how much bytecode a function runs between tier-up checks. The
// default (66 KB in Node 20's V8, more in later ones) leaves the per-request path of a lightly loaded node (a few
// hundred requests per second, each touching hundreds of small functions) in the
// interpreter and baseline tiers for many seconds; an eighth of it gets them to
// optimized code early. Measured: sequential send p50 and CPU per request ~20-30 %
// lower (A/B pairs of `make bench` runs).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--interrupt-budget=8192');
