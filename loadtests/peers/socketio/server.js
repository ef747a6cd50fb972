// socket.io with its Redis adapter as a 1:1 relay: the load tests' peer (docs/performance.md).
// A client emits `join` with its chat's room and gets `joined`; an `m` event is relayed to the
// rest of the room, as lyt relays a `data` frame to the other side of a conversation.
// Usage: PORT=… REDIS_URL=redis://127.0.0.1:… node server.js
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const port = Number(process.env.PORT ?? 8090);
const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  console.error('REDIS_URL is required (the Redis adapter is part of the setup under test)');
  process.exit(2);
}
const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
  adapter: createAdapter(pub, sub),
});
io.on('connection', (socket) => {
  socket.on('join', (room) => {
    if (typeof room !== 'string' || room.length > 64) return;
    socket.join(room);
    socket.emit('joined');
  });
  socket.on('m', (text) => {
    if (typeof text !== 'string') return;
    for (const room of socket.rooms) {
      if (room !== socket.id) socket.to(room).emit('m', text);
    }
  });
});
http.listen(port, '127.0.0.1', () => console.log(`socket.io relay on 127.0.0.1:${port}`));
const stop = () => { io.close(); pub.quit().catch(() => {}); sub.quit().catch(() => {}); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
