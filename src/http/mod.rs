//! HTTP/1.1 on the wire: request heads, body framing, response heads. No I/O happens here.
