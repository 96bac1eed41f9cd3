// POST /v1/auth/register and /v1/auth/login.
import { decoyPasswordHash, hashPassword, verifyPassword } from '../auth/password.js';
import { commit, type ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { defineRoute, type RouteSpec } from '../route.js';
import { LoginBody, RegisterBody, RelayedRegisterBody } from '../schemas.js';

export function userRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/auth/register',
      operationId: 'register',
      summary: 'Create a user (password 8..128 characters); 409 if the name is taken',
      auth: false,
      kind: 'write',
      body: RegisterBody,
      relayedBody: RelayedRegisterBody,
      success: 201,
      // A follower in forward mode hashes before relaying: the password never leaves the
      // node it was sent to. The throttle comes first, as each hash costs tens of ms.
      async relay({ body, clientAddress }) {
        deps.registrations.take(clientAddress);
        return { username: body.username, passwordHash: await hashPassword(body.password) };
      },
      async handle({ body, clientAddress }) {
        deps.registrations.take(clientAddress);
        // Hashed here, before proposing: the log never holds the password.
        const passwordHash = 'passwordHash' in body ? body.passwordHash : await hashPassword(body.password);
        const value = await commit(deps, {
          type: 'user.register',
          username: body.username,
          passwordHash,
        });
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/auth/login',
      operationId: 'login',
      summary: 'Exchange a username and password for a JWT {token, expiresAt}',
      auth: false,
      kind: 'write',
      body: LoginBody,
      success: 200,
      async handle({ body, clientAddress }) {
        deps.logins.check(body.username, clientAddress);
        // The user table is replicated: read it linearizably so a just-registered user
        // can log in at once.
        await deps.node.readBarrier();
        const user = deps.broker.getUser(body.username);
        const ok = user
          ? await verifyPassword(body.password, user.passwordHash)
          : (await verifyPassword(body.password, await decoyPasswordHash()), false);
        if (!ok) {
          deps.logins.recordFailure(body.username, clientAddress);
          throw new ApiError('unauthorized', 'wrong username or password');
        }
        deps.logins.recordSuccess(body.username, clientAddress);
        return { status: 200, body: await deps.tokens.issue(body.username) };
      },
    }),
  ];
}
