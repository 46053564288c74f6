"""A UDP chat server: it learns each peer from its first datagram and relays to all the others.

Run it: python3 udp_chat_server.py [--port 1234]   (--port 0 picks any free port)
A peer leaves with /quit; this server never forgets a silent one (lesson 13's does).
"""
import argparse
import socket


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


def main():
    parser = argparse.ArgumentParser(description="A UDP chat server.")
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
        # tag::relay[]
        peers = set()                   # no connections: a peer is an (address, port) we heard from
        while True:
            data, sender = sock.recvfrom(1024)
            text = data.decode(errors="replace").rstrip("\n")
            name = f"{sender[0]}:{sender[1]}"
            if sender not in peers:
                peers.add(sender)
                sock.sendto(f"* welcome, {name}; others here: {len(peers) - 1}".encode(), sender)
            if text in ("/quit", "exit"):
                peers.discard(sender)
                sock.sendto(b"* bye", sender)
                notice = f"* {name} left"
            elif text in ("/join", ""):
                continue                # heard from: known now, nothing to relay
            else:
                notice = f"{name}: {text}"
            print(notice, flush=True)
            for peer in peers - {sender}:
                sock.sendto(notice.encode(), peer)
        # end::relay[]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
