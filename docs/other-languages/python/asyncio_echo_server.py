"""A TCP echo server on one thread: asyncio's event loop calls the protocol when bytes arrive.

Run it: python3 asyncio_echo_server.py [--port 1234]   (--port 0 picks any free port)
"""
import argparse
import asyncio


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


# tag::protocol[]
class Echo(asyncio.Protocol):
    """One per connection. The loop calls these methods; nothing here blocks."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        # Runs on the loop's thread, with whatever one recv returned; there is no queue in between.
        self.transport.write(data)      # buffered by the transport, written when the socket allows


# end::protocol[]

async def main(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, host, port, backlog=1024)   # sets SO_REUSEADDR itself
    address, bound = server.sockets[0].getsockname()[:2]
    print(f"listening on {address}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A TCP echo server on asyncio's event loop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234, help="the TCP port (default 1234; 0 = any free port)")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except OSError as e:
        raise SystemExit(f"cannot listen on port {args.port}: {e.strerror} (try --port 0)")
    except KeyboardInterrupt:
        pass
