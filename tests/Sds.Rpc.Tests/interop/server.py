"""python-grpcio echo server for SdsTarget client interop. Usage: server.py

Serves sds.test.v1.Echo with grpcio's generic handlers over raw bytes, mirroring the C# EchoService: header
x-echo comes back as header x-echo-header and trailer x-echo-trailer; x-data-bin comes back as a trailer.
Unary text "__cancelled__" answers "yes" once any handler has seen its call cancelled. Prints the bound port,
then serves until killed or for at most 120 s.
"""
import threading
import time
from concurrent import futures

import grpc

from echo_wire import decode, encode_response

CODES = {code.value[0]: code for code in grpc.StatusCode}
cancelled = threading.Event()


def request_fields(data):
    fields = decode(data)
    return {
        "text": fields.get(1, [b""])[0].decode("utf-8"),
        "payload": fields.get(2, [b""])[0],
        "repeat": fields.get(3, [0])[0],
        "delay_ms": fields.get(4, [0])[0],
        "fail_code": fields.get(5, [0])[0],
        "fail_message": fields.get(6, [b""])[0].decode("utf-8"),
    }


def echo_metadata(context):
    metadata = dict(context.invocation_metadata())
    trailers = []
    if "x-echo" in metadata:
        context.send_initial_metadata((("x-echo-header", metadata["x-echo"]),))
        trailers.append(("x-echo-trailer", metadata["x-echo"]))
    if "x-data-bin" in metadata:
        trailers.append(("x-data-bin", metadata["x-data-bin"]))
    if trailers:
        context.set_trailing_metadata(tuple(trailers))


def behave(request, context):
    end = time.monotonic() + request["delay_ms"] / 1000.0
    while time.monotonic() < end:
        if not context.is_active():
            cancelled.set()
            return
        time.sleep(0.01)
    if request["fail_code"]:
        context.abort(CODES[request["fail_code"]], request["fail_message"])


def unary(data, context):
    request = request_fields(data)
    if request["text"] == "__cancelled__":
        return encode_response(text="yes" if cancelled.is_set() else "no")
    echo_metadata(context)
    behave(request, context)
    return encode_response(text=request["text"], payload=request["payload"])


def server_stream(data, context):
    request = request_fields(data)
    echo_metadata(context)
    for index in range(request["repeat"]):
        yield encode_response(text=request["text"], payload=request["payload"], index=index)
    behave(request, context)


def client_stream(iterator, context):
    echo_metadata(context)
    texts = []
    for data in iterator:
        request = request_fields(data)
        texts.append(request["text"])
        behave(request, context)
    return encode_response(text=",".join(texts))


def bidi(iterator, context):
    echo_metadata(context)
    key = id(context)

    def on_done():
        # Runs when the RPC ends for any reason; a handler that did not finish normally was cancelled.
        if not finished.pop(key, False):
            cancelled.set()

    context.add_callback(on_done)
    index = 0
    for data in iterator:
        request = request_fields(data)
        if request["delay_ms"]:
            # Tell the client the slow request arrived, so it can cancel while the handler is inside it.
            yield encode_response(text="delaying:" + request["text"], index=index)
        behave(request, context)
        yield encode_response(text=request["text"], payload=request["payload"], index=index)
        index += 1
    finished[key] = True


finished = {}


def main():
    handler = grpc.method_handlers_generic_handler("sds.test.v1.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination(timeout=120)


if __name__ == "__main__":
    main()
