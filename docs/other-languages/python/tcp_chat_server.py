"""A TCP chat server: a thread per client; every line a client sends goes to every other client.

Run it: python3 tcp_chat_server.py [--port 1234]   (--port 0 picks any free port)
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


clients = set()
lock = threading.Lock()


# tag::relay[]
def send_to(others, text):
    for other in others:
        try:
            # This thread waits here while another client does not read: lesson 14 gives each
            # client its own bounded queue and writer for that reason.
            other.sendall(text.encode())
        except OSError:
            pass                        # that client is gone; its own thread cleans up


def everyone_but(conn):
    with lock:
        return [c for c in clients if c is not conn]


def serve(conn, name):
    with lock:                          # join in one step: who was here before us hears of it
        here_before = list(clients)
        clients.add(conn)
    conn.sendall(f"* welcome, {name}\n".encode())
    send_to(here_before, f"* {name} joined\n")
    with conn:
        for line in conn.makefile("r", encoding="utf-8", errors="replace", newline="\n"):
            send_to(everyone_but(conn), f"{name}: {line.rstrip(chr(10))}\n")
        with lock:
            clients.discard(conn)
    send_to(everyone_but(conn), f"* {name} left\n")
# end::relay[]


def main():
    parser = argparse.ArgumentParser(description="A TCP chat server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=1234, help="the TCP port (default 1234; 0 = any free port)")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as e:
        raise SystemExit(f"cannot listen on port {args.port}: {e.strerror} (try --port 0)")
    listener.listen(1024)
    host, port = listener.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    with listener:
        while True:
            conn, peer = listener.accept()
            name = f"{peer[0]}:{peer[1]}"
            print(f"{name} joined", flush=True)
            threading.Thread(target=serve, args=(conn, name), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
