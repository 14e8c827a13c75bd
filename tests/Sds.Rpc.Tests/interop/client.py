"""python-grpcio client -> SdsTarget server. Usage: client.py PORT

Runs every interop scenario against the C# echo server and prints PASS <name> for each; any failure raises,
so the exit code is non-zero. Every call carries a timeout, so the script cannot hang.
"""
import sys
import threading

import grpc

from echo_wire import encode_request, decode, field_bytes, text_of, index_of

SERVICE = "/sds.test.v1.Echo/"
TIMEOUT_S = 10


def expect_error(code, function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, "expected %s, got %s: %s" % (code, error.code(), error.details())
        return error
    raise AssertionError("expected %s, call succeeded" % code)


def main(port):
    channel = grpc.insecure_channel("127.0.0.1:%d" % port)
    grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
    unary = channel.unary_unary(SERVICE + "Unary")
    server_stream = channel.unary_stream(SERVICE + "ServerStream")
    client_stream = channel.stream_unary(SERVICE + "ClientStream")
    bidi = channel.stream_stream(SERVICE + "Bidi")

    response = unary(encode_request(text="hello", payload=b"x" * 4096), timeout=TIMEOUT_S)
    assert text_of(response) == "hello"
    assert decode(response)[2][0] == b"x" * 4096
    print("PASS unary", flush=True)

    responses = list(server_stream(encode_request(text="s", repeat=5), timeout=TIMEOUT_S))
    assert [index_of(r) for r in responses] == [0, 1, 2, 3, 4], responses
    print("PASS server_streaming", flush=True)

    response = client_stream(iter([encode_request(text=t) for t in ("a", "b", "c")]), timeout=TIMEOUT_S)
    assert text_of(response) == "a,b,c"
    print("PASS client_streaming", flush=True)

    responses = list(bidi(iter([encode_request(text="m%d" % i) for i in range(20)]), timeout=TIMEOUT_S))
    assert [text_of(r) for r in responses] == ["m%d" % i for i in range(20)]
    print("PASS bidi", flush=True)

    response, call = unary.with_call(encode_request(text="m"), metadata=(("x-echo", "v1"), ("x-data-bin", b"\x00\x01\xff")), timeout=TIMEOUT_S)
    initial = dict(call.initial_metadata())
    trailing = dict(call.trailing_metadata())
    assert initial.get("x-echo-header") == "v1", initial
    assert trailing.get("x-echo-trailer") == "v1", trailing
    assert trailing.get("x-data-bin") == b"\x00\x01\xff", trailing
    print("PASS metadata", flush=True)

    message = "volume \u00fcn\u00efc\u00f8d\u00e9 100% gone"
    error = expect_error(grpc.StatusCode.NOT_FOUND, unary, encode_request(fail_code=5, fail_message=message), timeout=TIMEOUT_S)
    assert error.details() == message, repr(error.details())
    print("PASS error_status", flush=True)

    expect_error(grpc.StatusCode.DEADLINE_EXCEEDED, unary, encode_request(delay_ms=10000), timeout=0.3)
    print("PASS deadline", flush=True)

    release = threading.Event()

    def requests():
        yield encode_request(text="first")
        release.wait(TIMEOUT_S)

    call = bidi(requests(), timeout=TIMEOUT_S)
    assert text_of(next(call)) == "first"
    call.cancel()
    release.set()
    expect_error(grpc.StatusCode.CANCELLED, next, call)
    print("PASS cancellation", flush=True)

    error = expect_error(grpc.StatusCode.INTERNAL, unary, encode_request(throw=True), timeout=TIMEOUT_S)
    assert "secret" not in error.details() and " at " not in error.details(), error.details()
    print("PASS handler_exception", flush=True)

    expect_error(grpc.StatusCode.UNIMPLEMENTED, channel.unary_unary(SERVICE + "NoSuchMethod"), b"", timeout=TIMEOUT_S)
    expect_error(grpc.StatusCode.UNIMPLEMENTED, channel.unary_unary("/no.such.Service/Method"), b"", timeout=TIMEOUT_S)
    print("PASS unimplemented", flush=True)

    expect_error(grpc.StatusCode.RESOURCE_EXHAUSTED, unary, encode_request(payload=b"y" * (5 * 1024 * 1024)), timeout=TIMEOUT_S)
    print("PASS oversize", flush=True)

    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    assert check(b"", timeout=TIMEOUT_S) == b"\x08\x01"
    assert check(field_bytes(1, "sds.test.v1.Echo"), timeout=TIMEOUT_S) == b"\x08\x01"
    expect_error(grpc.StatusCode.NOT_FOUND, check, field_bytes(1, "no.such.Service"), timeout=TIMEOUT_S)
    print("PASS health", flush=True)

    for version in ("v1", "v1alpha"):
        reflect = channel.stream_stream("/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version)
        answers = list(reflect(iter([field_bytes(7, ""), field_bytes(4, "sds.test.v1.Echo"), field_bytes(3, "nope.proto")]), timeout=TIMEOUT_S))
        assert len(answers) == 3
        listed = decode(decode(answers[0])[6][0])[1]
        names = sorted(decode(entry)[1][0].decode() for entry in listed)
        assert "sds.test.v1.Echo" in names and "grpc.health.v1.Health" in names and "grpc.reflection.v1.ServerReflection" in names, names
        files = decode(decode(answers[1])[4][0])[1]
        assert any(b"echo.proto" in f for f in files), files
        assert 7 in decode(answers[2]), "missing file must be an error_response"
    print("PASS reflection", flush=True)

    channel.close()
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
