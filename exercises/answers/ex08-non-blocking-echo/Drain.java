///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/// Chapter 08, exercise 3 · Drain a non-blocking socket — everything that is there now, never waiting.
///
/// Run it: `./jbang exercises/ex08-non-blocking-echo/Drain.java`; check it: `./jbang labs/Grade.java ex08`.
class Drain {
    /// How many bytes one read() may return: smaller than what may be waiting.
    static final int CHUNK = 1024;

    /// Reads everything the kernel holds for `channel` right now, without waiting for more: the
    /// bytes read (none when nothing is there), or null when the peer has ended its stream and
    /// nothing was left to read. `channel` is in non-blocking mode.
    static byte[] readAvailable(SocketChannel channel) throws IOException {
        var bytes = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
        while (true) {
            int n = channel.read(buffer.clear());
            if (n == 0) return bytes.toByteArray();                     // nothing more now
            if (n == -1) return bytes.size() == 0 ? null : bytes.toByteArray();   // end of stream
            bytes.write(buffer.array(), 0, n);
        }
    }

    /// A demonstration on a connection to itself: three writes of 20,000 bytes, each drain woken
    /// by a Selector, as lesson 08's loop is; then the client's end of stream.
    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("Usage: ./jbang exercises/ex08-non-blocking-echo/Drain.java (no arguments)");
            System.exit(2);
        }
        try (var listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                var client = SocketChannel.open(listener.getLocalAddress());
                var server = listener.accept();
                var selector = Selector.open()) {
            server.configureBlocking(false).register(selector, SelectionKey.OP_READ);
            System.out.println("nothing sent yet: readAvailable returns " + describe(readAvailable(server)));
            for (int i = 0; i < 3; i++) client.write(ByteBuffer.wrap(new byte[20_000]));
            int total = 0;
            for (int calls = 1; total < 60_000; calls++) {
                selector.select();                  // sleep until the kernel has bytes for us
                selector.selectedKeys().clear();
                byte[] got = readAvailable(server);
                total += got.length;
                System.out.printf("readiness %d: readAvailable returns %s (%,d of 60,000 so far)%n", calls, describe(got), total);
            }
            client.shutdownOutput();
            selector.select();
            System.out.println("after the client's end of stream: " + describe(readAvailable(server)));
        }
    }

    static String describe(byte[] bytes) {
        return bytes == null ? "null (end of stream)" : bytes.length + " bytes";
    }
}
