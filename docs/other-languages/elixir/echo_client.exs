# A line echo client in passive mode: send each line typed, wait for one reply, print it.
#
# Run it: elixir echo_client.exs [--host 127.0.0.1] [--port 1234]
defmodule EchoClient do
  # tag::client[]
  def connect(host, port) do
    case :gen_tcp.connect(String.to_charlist(host), port, [:binary, active: false, packet: :line], 5_000) do
      {:ok, socket} ->
        loop(socket)

      {:error, reason} ->
        IO.puts(:stderr, "cannot connect to #{host}:#{port}: #{:inet.format_error(reason)}")
        System.halt(1)
    end
  end

  defp loop(socket) do
    case IO.gets("") do
      :eof ->
        :gen_tcp.close(socket)                         # both directions: replies still coming are lost

      line ->
        :ok = :gen_tcp.send(socket, line)

        case :gen_tcp.recv(socket, 0, 5_000) do        # one reply per line, 5 s at most
          {:ok, reply} ->
            IO.write(reply)
            loop(socket)

          {:error, reason} ->
            IO.puts(:stderr, "no reply: #{:inet.format_error(reason)}")
            System.halt(1)
        end
    end
  end
  # end::client[]
end

{options, _, _} = OptionParser.parse(System.argv(), strict: [host: :string, port: :integer])
EchoClient.connect(Keyword.get(options, :host, "127.0.0.1"), Keyword.get(options, :port, 1234))
