"""A UDP chat client: a thread prints every datagram that arrives, the main thread sends each line typed.

Run it: python3 udp_chat_client.py [--host 127.0.0.1] [--port 1234]
Type /quit (or end the input with Ctrl-D) to leave.
"""
import argparse
import socket
import sys
import threading


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


# tag::receive[]
def receive(sock, bye):
    while True:
        try:
            data, sender = sock.recvfrom(1024)
        except OSError:                 # the socket was closed: we are leaving
            return
        text = data.decode(errors="replace").rstrip("\n")
        print(f"{sender[0]}:{sender[1]} {text}", flush=True)
        if text == "* bye":
            bye.set()
# end::receive[]


def main():
    parser = argparse.ArgumentParser(description="A UDP chat client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234)
    args = parser.parse_args()
    server = (args.host, args.port)

    # tag::send[]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"/join", server)       # the first datagram gives us a port and makes us known
    bye = threading.Event()
    threading.Thread(target=receive, args=(sock, bye), daemon=True).start()
    for line in sys.stdin:
        text = line.rstrip("\n")
        sock.sendto(text.encode(), server)
        if text in ("/quit", "exit"):
            break
    else:
        sock.sendto(b"/quit", server)   # end of input: leave too
    bye.wait(2)                         # the server's "* bye", if it comes: UDP may lose it
    sock.close()
    # end::send[]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
