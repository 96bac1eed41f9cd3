// A version-1 snapshot image, written by the broker of commit 6e919aa (before receipt
// keys, limits and bounded idempotency records) after these entries, all at
// 2026-01-01T00:00:00Z, indexes 1..9:
//   register alice; register bob with Idempotency-Key 'planted' (as older versions kept);
//   alice creates queue q (visibility 60 s) and grants bob send+receive;
//   alice sends one (attribute k=v), two, three with key 'send-1' (ids 5-0, 5-1, 5-2);
//   alice receives max 2 with key 'recv-1' (one and two, handles '6.0' and '6.1');
//   alice creates topic t, subscription s, and publishes 'pub'.
export const V1_INDEX = 9;
export const V1_TIME = 1767225600000;
export const V1_IMAGE_BASE64 = [
  'wpq96gQBAACAqm23eUICBAkCBQAAAGFsaWNlAwAAAGgtYQMAAABib2IDAAAAaC1iAwsAAABib2IKcGxhbnRlZEEAAAB7Im9r',
  'Ijp0cnVlLCJ2YWx1ZSI6eyJ1c2VybmFtZSI6ImJvYiJ9LCJyZXBsYXlPZiI6InVzZXIucmVnaXN0ZXIifQAAgKptt3lCDAAA',
  'AGFsaWNlCnNlbmQtMaAAAAB7Im9rIjp0cnVlLCJ2YWx1ZSI6eyJtZXNzYWdlcyI6W3siaWQiOiI1LTAiLCJkZWR1cGxpY2F0',
  'ZWQiOmZhbHNlfSx7ImlkIjoiNS0xIiwiZGVkdXBsaWNhdGVkIjpmYWxzZX0seyJpZCI6IjUtMiIsImRlZHVwbGljYXRlZCI6',
  'ZmFsc2V9XX0sInJlcGxheU9mIjoicXVldWUuc2VuZCJ9AACAqm23eUIMAAAAYWxpY2UKcmVjdi0xLgEAAHsib2siOnRydWUs',
  'InZhbHVlIjp7Im1lc3NhZ2VzIjpbeyJpZCI6IjUtMCIsImJvZHkiOiJvbmUiLCJhdHRyaWJ1dGVzIjp7ImsiOiJ2In0sInJl',
  'Y2VpcHRIYW5kbGUiOiI2LjAiLCJyZWNlaXZlQ291bnQiOjEsInNlbnRBdCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAuMDAwWiJ9',
  'LHsiaWQiOiI1LTEiLCJib2R5IjoidHdvIiwiYXR0cmlidXRlcyI6e30sInJlY2VpcHRIYW5kbGUiOiI2LjEiLCJyZWNlaXZl',
  'Q291bnQiOjEsInNlbnRBdCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAuMDAwWiJ9XX0sInJlcGxheU9mIjoicXVldWUucmVjZWl2',
  'ZSJ9AACAqm23eUIBAQEAAABxBQAAAGFsaWNlAACAqm23eULg1AMAAIDg5aQBAwEDAAAAYm9iAwABBQIFAAAAdGhyZWUAAACA',
  'qm23eUICAACAqm23eUIAAgUAAwAAAG9uZQEBAAAAawEAAAB2AACAqm23eUIAAACAqm23eUIBAwAAADYuMAAAJrltt3lCAQUB',
  'AwAAAHR3bwAAAICqbbd5QgEAAICqbbd5QgEDAAAANi4xAAAmuW23eUICAAECAQAAAHQFAAAAYWxpY2UAAICqbbd5QgCAiLKg',
  'AgABAAABCQADAAAAcHViAAAAgKptt3lCAAAAgKptt3lCAAEDAQAAAHMFAAAAYWxpY2UAAICqbbd5QrDqAQAAAAAAAA=='
].join('');
