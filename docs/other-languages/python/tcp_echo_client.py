"""A TCP echo client: send one message, wait for one reply, print it.

Run it: python3 tcp_echo_client.py [--host 127.0.0.1] [--port 1234] [--timeout 5] [MESSAGE]
The message is sent as it is, with no newline at the end (default: Hello, world).
"""
import argparse
import socket
import sys


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


def main():
    parser = argparse.ArgumentParser(description="Send one message to an echo server, print its reply.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the reply (default 5)")
    parser.add_argument("message", nargs="?", default="Hello, world")
    args = parser.parse_args()

    # tag::talk[]
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as sock:
        sock.sendall(args.message.encode())     # no newline: just these bytes
        try:
            data = sock.recv(1024)              # whatever has arrived: maybe not the whole reply
        except TimeoutError:
            print(f"no reply within {args.timeout:g} s", file=sys.stderr)
            return 1
    print("Received", repr(data))
    # end::talk[]
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConnectionRefusedError:
        sys.exit("connection refused: is a server listening there?")
