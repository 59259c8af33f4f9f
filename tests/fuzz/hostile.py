"""Values every door must refuse by the rules of grading.core.json_input, as raw JSON text of
one value: the API's bodies (test_api_schema) and every importer (test_loaders) use this table."""

JSON_VALUES = {
    "lone high surrogate": b'"\\ud800"',
    "lone low surrogate": b'"x\\udc80y"',
    "a surrogate as UTF-8 bytes": b'"\xed\xa0\x80"',
    "invalid UTF-8": b'"\xff\xfe"',
    "2**64": b"18446744073709551616",
    "2**63": b"9223372036854775808",
    "-2**63-1": b"-9223372036854775809",
    "1e999": b"1e999",
    "-1e999": b"-1e999",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "NaN": b"NaN",
    "nesting 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "nesting 65 deep": b"[" * 65 + b"]" * 65,
}
