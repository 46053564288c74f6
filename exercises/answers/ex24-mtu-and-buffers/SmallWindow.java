///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/// Exercise 24.3 · A receive buffer that decides the window: lesson 24's client asks for a small
/// `SO_RCVBUF` so that the sender may keep only that much in flight.
///
/// Run it: `./jbang exercises/ex24-mtu-and-buffers/SmallWindow.java`; check it:
/// `./jbang labs/Grade.java ex24`.
class SmallWindow {

    /// A connection to `address:port` whose receive buffer is `receiveBuffer` bytes and whose
    /// window, as agreed with the peer, is no bigger than that buffer allows.
    static Socket open(InetAddress address, int port, int receiveBuffer) throws IOException {
        var socket = new Socket();
        // Before connect: the window scale is agreed in the handshake, from the buffer's size.
        socket.setReceiveBufferSize(receiveBuffer);
        socket.connect(new InetSocketAddress(address, port), 3_000);
        return socket;
    }

    public static void main(String[] args) throws IOException {
        try (var listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                var socket = open(InetAddress.getLoopbackAddress(), listener.getLocalPort(), 16 << 10)) {
            var p = new ProcessBuilder("ss", "-tinH", "state", "established", "( sport = :" + socket.getLocalPort() + " )")
                    .redirectErrorStream(true).start();
            System.out.print(new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            System.out.println("wscale:S,R above: R is this end's receive window scale");
        }
    }
}
