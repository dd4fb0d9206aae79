#!/usr/bin/env python3
"""Signs S3 requests with botocore, the AWS SDK for Python's own Signature V4, to check spate's.

Reads one JSON request a line from the file named by its argument; writes each request's hex signature a line on stdout.
The path and query are encoded here the way botocore's S3 client encodes them, from the raw
bucket, key and parameters, so the comparison checks spate's encoding too, not only its hashing.
"""
import json
import sys

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(r):
    path = "/" + r["bucket"]
    if r["key"]:
        # S3's {Key+} label: everything but unreserved characters and '/' is percent-encoded.
        path += "/" + percent_encode(r["key"], safe="/~")
    request = AWSRequest(
        method=r["method"],
        url="http://" + r["host"] + path,
        headers=dict(r["headers"]),
        data=bytes.fromhex(r["body_hex"]),
        params=[tuple(p) for p in r["query"]],
    )
    auth = S3SigV4Auth(Credentials(r["access_key"], r["secret_key"], r["token"] or None), "s3", r["region"])
    # add_auth() would take the time now; the same steps with the request's own time instead.
    request.context["timestamp"] = r["date"]
    auth._modify_request_before_signing(request)
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    return auth.signature(string_to_sign, request)


with open(sys.argv[1], encoding="utf-8") as requests:
    for line in requests:
        print(sign(json.loads(line)))
