import { test } from "node:test";
import assert from "node:assert/strict";
import { CREDENTIAL_ENDED, SESSION_DELETED, TOO_MANY_CONNECTIONS, closeNotice, finalClose, isConnectionLimit, signedOutMessage } from "../public/lib/close-codes.js";

test("only 4401 and 4404 end a connection for good", () => {
  assert.deepEqual(finalClose(4401, "session_expired"), { code: 4401, reason: "session_expired", kind: "credential" });
  assert.deepEqual(finalClose(4404, "session_deleted"), { code: 4404, reason: "session_deleted", kind: "deleted" });
  assert.deepEqual(finalClose(4404, ""), { code: 4404, reason: "session_deleted", kind: "deleted" });
  assert.deepEqual(finalClose(4401, ""), { code: 4401, reason: null, kind: "credential" });
  for (const code of [1000, 1001, 1006, 1008, 1011, 1013, 4000, 4400, 4403, undefined]) {
    assert.equal(finalClose(code, "signed_out"), null, `code ${code} is retried`);
  }
  assert.equal(CREDENTIAL_ENDED, 4401);
  assert.equal(SESSION_DELETED, 4404);
});

test("each 4401 reason has its own words; an unknown one a generic line", () => {
  assert.equal(signedOutMessage("signed_out"), "You signed out.");
  assert.equal(signedOutMessage("session_expired"), "Your sign-in expired.");
  assert.equal(signedOutMessage("credential_revoked"), "Your sign-in was revoked.");
  assert.equal(signedOutMessage("token_expired"), "Your access token expired.");
  assert.equal(signedOutMessage("toString"), "You are signed out.", "no inherited property is a reason");
  assert.equal(signedOutMessage(null), "You are signed out.");
  assert.equal(signedOutMessage("something_new"), "You are signed out.");
});

test("the notice of an ended connection", () => {
  assert.deepEqual(closeNotice(finalClose(4404, "session_deleted")), {
    kind: "deleted",
    title: "Conversation deleted",
    message: "This conversation was deleted.",
  });
  assert.deepEqual(closeNotice(finalClose(4401, "session_expired")), { kind: "signed_out", title: "Signed out", message: "Your sign-in expired." });
  assert.equal(closeNotice(null).message, "You are signed out.");
});

test("4429 too_many_connections is a connection limit, retried slowly rather than ended", () => {
  assert.equal(TOO_MANY_CONNECTIONS, 4429);
  assert.equal(isConnectionLimit(4429, "too_many_connections"), true);
  assert.equal(isConnectionLimit(4429, ""), true);
  assert.equal(isConnectionLimit(1006, "too_many_connections"), true);
  assert.equal(isConnectionLimit(1008, "rate_limited"), false);
  assert.equal(finalClose(4429, "too_many_connections"), null, "not final: it reconnects");
});
