"""Mints a Twilio access token with the official helper library on the
inputs and clock given as JSON on stdin, and verifies the token given there
with the library's own verifier. Prints JSON: the library's header and
payload, whether ours verified (and the identity it carried), and whether a
forgery (ours re-signed with another secret) verified.

Used by backend/tests/contract/twilio_helper.rs.
"""
import json
import sys
import time
from unittest import mock

import jwt as pyjwt
from twilio.jwt import Jwt
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant


def main() -> None:
    case = json.load(sys.stdin)
    with mock.patch.object(time, "time", return_value=float(case["now"])):
        token = AccessToken(
            case["account_sid"],
            case["api_key_sid"],
            case["api_key_secret"],
            identity=case["identity"],
            ttl=case["ttl"],
        )
        token.add_grant(ChatGrant(service_sid=case["service_sid"], endpoint_id=case["endpoint_id"]))
        theirs = token.to_jwt()
    out = {
        "header": pyjwt.get_unverified_header(theirs),
        "payload": pyjwt.decode(theirs, options={"verify_signature": False}),
    }
    try:
        verified = Jwt.from_jwt(case["token"], case["api_key_secret"])
        out["verified"] = True
        out["verified_identity"] = verified.payload["grants"]["identity"]
    except Exception as e:  # the verifier's own error, reported to the test
        out["verified"] = False
        out["error"] = repr(e)
    forged = pyjwt.encode(
        pyjwt.decode(case["token"], options={"verify_signature": False}),
        "another-secret",
        algorithm="HS256",
        headers={"cty": "twilio-fpa;v=1"},
    )
    try:
        Jwt.from_jwt(forged, case["api_key_secret"])
        out["forgery_verified"] = True
    except Exception:
        out["forgery_verified"] = False
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
