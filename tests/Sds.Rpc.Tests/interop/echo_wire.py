"""Hand-written protobuf wire encoding for the test contract sds.test.v1.Echo.

The interop scripts use grpcio's generic API with raw bytes, so no Python code generation is needed; these
helpers encode EchoRequest and decode any message into {field_number: [values]}.
"""


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value) if value else b""


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return varint((number << 3) | 2) + varint(len(data)) + data


def encode_request(text="", payload=b"", repeat=0, delay_ms=0, fail_code=0, fail_message="", throw=False):
    out = b""
    if text:
        out += field_bytes(1, text)
    if payload:
        out += field_bytes(2, payload)
    out += field_varint(3, repeat) + field_varint(4, delay_ms) + field_varint(5, fail_code)
    if fail_message:
        out += field_bytes(6, fail_message)
    out += field_varint(7, 1 if throw else 0)
    return out


def encode_response(text="", payload=b"", index=0):
    out = b""
    if text:
        out += field_bytes(1, text)
    if payload:
        out += field_bytes(2, payload)
    return out + field_varint(3, index)


def read_varint(data, pos):
    shift = 0
    result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode(data):
    fields = {}
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = read_varint(data, pos)
        elif wire_type == 2:
            length, pos = read_varint(data, pos)
            value = bytes(data[pos:pos + length])
            pos += length
        else:
            raise ValueError("unexpected wire type %d" % wire_type)
        fields.setdefault(number, []).append(value)
    return fields


def text_of(message):
    return decode(message).get(1, [b""])[0].decode("utf-8")


def index_of(message):
    return decode(message).get(3, [0])[0]
