"""A UDP echo client: send one datagram, wait for the answer, print it.

Run it: python3 udp_echo_client.py [--host 127.0.0.1] [--port 1234] [--timeout 5] [MESSAGE]
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
    parser = argparse.ArgumentParser(description="Send one datagram to an echo server, print its answer.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")
    parser.add_argument("message", nargs="?", default="Hello, world")
    args = parser.parse_args()

    # tag::talk[]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(args.timeout)
        sock.sendto(args.message.encode(), (args.host, args.port))   # no connection: just send
        try:
            data, sender = sock.recvfrom(1024)   # from anyone: the sender's address tells who
        except TimeoutError:
            # A datagram, or its answer, may be lost; nothing tells us which.
            print(f"no answer within {args.timeout:g} s", file=sys.stderr)
            return 1
    print(f"Received {data!r} from {sender[0]}:{sender[1]}")
    # end::talk[]
    return 0


if __name__ == "__main__":
    sys.exit(main())
