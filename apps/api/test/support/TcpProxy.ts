import { Effect } from "effect"
import * as Net from "node:net"

/** A loopback TCP proxy whose link can be cut (open sockets destroyed, new ones refused) and restored. */
export interface TcpProxy {
  readonly port: number
  readonly cut: Effect.Effect<void>
  readonly restore: Effect.Effect<void>
}

export const makeTcpProxy = (target: { readonly host: string; readonly port: number }) =>
  Effect.acquireRelease(
    Effect.async<{ proxy: TcpProxy; server: Net.Server; sockets: Set<Net.Socket> }>((resume) => {
      const sockets = new Set<Net.Socket>()
      let up = true
      const server = Net.createServer((client) => {
        if (!up) {
          client.destroy()
          return
        }
        const upstream = Net.connect(target.port, target.host)
        sockets.add(client).add(upstream)
        const close = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on("error", close).on("close", close)
        upstream.on("error", close).on("close", close)
        client.pipe(upstream)
        upstream.pipe(client)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as Net.AddressInfo
        resume(Effect.succeed({
          server,
          sockets,
          proxy: {
            port: address.port,
            cut: Effect.sync(() => {
              up = false
              for (const socket of sockets) socket.destroy()
              sockets.clear()
            }),
            restore: Effect.sync(() => {
              up = true
            })
          }
        }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
