"""A TCP echo server: a thread per connection sends back whatever each recv returns.

Run it: python3 tcp_echo_server.py [--port 1234]   (--port 0 picks any free port)
"""
import argparse
import socket
import threading


def port_number(text):
    """An argparse type: a TCP or UDP port, 0 to 65535."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return number


def serve(conn, peer):
    with conn:
        while True:
            data = conn.recv(4096)      # whatever has arrived: one byte, or many lines
            if not data:                # b"" means the client closed its side
                break
            conn.sendall(data)          # send() may send less; sendall() loops until all is sent
    print(f"{peer[0]}:{peer[1]} closed", flush=True)


def main():
    parser = argparse.ArgumentParser(description="A TCP echo server.")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=1234, help="the TCP port (default 1234; 0 = any free port)")
    args = parser.parse_args()

    # tag::listen[]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # restart despite TIME_WAIT
    try:
        listener.bind((args.host, args.port))
    except OSError as e:
        raise SystemExit(f"cannot listen on port {args.port}: {e.strerror} (try --port 0)")
    listener.listen(1024)               # the accept queue: connections the kernel holds for us
    host, port = listener.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    # end::listen[]

    # tag::accept[]
    with listener:
        while True:
            conn, peer = listener.accept()          # a new socket for each client
            print(f"accepted {peer[0]}:{peer[1]}", flush=True)
            threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
    # end::accept[]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
