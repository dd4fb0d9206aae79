// Signature V4 against AWS's published examples: the S3 GET Object example of the S3 API
// reference and a case of the SigV4 test suite.
#include <catch2/catch.hpp>

#include "s3/sigv4.hpp"

using spate::detail::SigV4Key;
using spate::detail::SigV4Request;

TEST_CASE("SigV4 signs AWS's S3 GET Object example exactly as published", "[s3][sigv4]") {
  const std::string empty = spate::detail::sha256_hex("");
  CHECK(empty == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  SigV4Request r{"GET",
                 "/test.txt",
                 {},
                 {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"Range", "bytes=0-9"},
                  {"x-amz-content-sha256", empty},
                  {"x-amz-date", "20130524T000000Z"}},
                 empty};
  SigV4Key key{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
               "s3"};
  CHECK(spate::detail::canonical_request(r) ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:" + empty + "\nx-amz-date:20130524T000000Z\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n" + empty);
  CHECK(spate::detail::string_to_sign(r, key, "20130524T000000Z") ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(spate::detail::sigv4_authorization(r, key, "20130524T000000Z") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("SigV4 sorts query parameters as the test suite's get-vanilla-query-order-key-case",
          "[s3][sigv4]") {
  SigV4Request r{"GET",
                 "/",
                 {{"Param2", "value2"}, {"Param1", "value1"}},
                 {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                 spate::detail::sha256_hex("")};
  SigV4Key key{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
  CHECK(spate::detail::canonical_query(r.query) == "Param1=value1&Param2=value2");
  CHECK(spate::detail::sigv4_signature(r, key, "20150830T123600Z") ==
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST_CASE("SigV4 percent-encodes all but unreserved characters, keeping '/' in paths",
          "[s3][sigv4]") {
  CHECK(spate::detail::uri_encode("a b/c~d_e-f.g", false) == "a%20b/c~d_e-f.g");
  CHECK(spate::detail::uri_encode("a b/c", true) == "a%20b%2Fc");
  CHECK(spate::detail::uri_encode("$=+&\xc3\xa9", true) == "%24%3D%2B%26%C3%A9");
  CHECK(spate::detail::canonical_query({{"uploads", ""}, {"prefix", "a/b c"}}) ==
        "prefix=a%2Fb%20c&uploads=");
}
