///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/// Exercise 01.3 · A client that chooses its own port: the same local port, connected to two
/// servers at once, is two connections, because a connection is its whole 4-tuple.
///
/// Run it: `./jbang exercises/ex01-sockets-vs-ports/BoundClient.java`; check it:
/// `./jbang labs/Grade.java ex01`.
class BoundClient {

    /// A socket from 127.0.0.1:localPort to 127.0.0.1:serverPort.
    static Socket connectFrom(int localPort, int serverPort) throws IOException {
        var socket = new Socket();
        // TODO(exercise): give the socket the local port localPort on 127.0.0.1 before it
        // connects, in a way that lets a second socket take the same local port.
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort), 3_000);
        return socket;
    }

    public static void main(String[] args) throws IOException {
        int localPort;
        try (var probe = new ServerSocket(0)) {
            localPort = probe.getLocalPort();        // a port free a moment ago
        }
        try (var first = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                var second = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                var a = connectFrom(localPort, first.getLocalPort());
                var b = connectFrom(localPort, second.getLocalPort())) {
            System.out.println("asked for local port " + localPort);
            System.out.println("a: " + a.getLocalSocketAddress() + " -> " + a.getRemoteSocketAddress());
            System.out.println("b: " + b.getLocalSocketAddress() + " -> " + b.getRemoteSocketAddress());
        }
    }
}
