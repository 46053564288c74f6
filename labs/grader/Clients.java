package grading;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/// Many clients of one server, connected together and closed together.
public final class Clients implements AutoCloseable {

    private final List<Client> all = new ArrayList<>();

    /// Connects `count` more clients to `port`.
    public Clients connect(int port, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            all.add(Client.connect(port));
        }
        return this;
    }

    public Client get(int i) {
        return all.get(i);
    }

    public List<Client> all() {
        return List.copyOf(all);
    }

    @Override
    public void close() throws IOException {
        for (Client client : all) {
            client.close();
        }
    }
}
