"""A TCP chat client: a thread prints every line the server sends, the main thread sends each line typed.

Run it: python3 tcp_chat_client.py [--host 127.0.0.1] [--port 1234]
At the end of input (Ctrl-D) it closes its sending side and prints what still comes, until the server closes.
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


def receive(sock):
    for line in sock.makefile("r", encoding="utf-8", errors="replace", newline="\n"):
        print(line.rstrip("\n"), flush=True)
    print("* the server closed the connection", flush=True)


def main():
    parser = argparse.ArgumentParser(description="A TCP chat client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234)
    args = parser.parse_args()

    # tag::send[]
    with socket.create_connection((args.host, args.port)) as sock:
        reader = threading.Thread(target=receive, args=(sock,))
        reader.start()
        for line in sys.stdin:
            sock.sendall(line.encode())         # a line, newline included: the server reads lines
        sock.shutdown(socket.SHUT_WR)           # half-close: "I am done", the server may still talk
        reader.join()
    # end::send[]


if __name__ == "__main__":
    try:
        main()
    except ConnectionRefusedError:
        sys.exit("connection refused: is a server listening there?")
    except KeyboardInterrupt:
        pass
