"""A UDP echo server: every datagram goes back to the address it came from.

Run it: python3 udp_echo_server.py [--port 1234]   (--port 0 picks any free port)
"""
import argparse
import socket


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


MAX_DATAGRAM = 1024


def main():
    parser = argparse.ArgumentParser(description="A UDP echo server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234, help="the UDP port (default 1234; 0 = any free port)")
    args = parser.parse_args()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((args.host, args.port))
        except OSError as e:
            raise SystemExit(f"cannot bind port {args.port}: {e.strerror} (try --port 0)")
        host, port = sock.getsockname()
        print(f"listening on {host}:{port}", flush=True)
        # tag::loop[]
        while True:
            # One datagram per call, with the address to answer; a longer one is cut to MAX_DATAGRAM.
            data, sender = sock.recvfrom(MAX_DATAGRAM)
            print(f"{sender[0]}:{sender[1]} sent {data!r}", flush=True)
            sock.sendto(data, sender)
        # end::loop[]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
