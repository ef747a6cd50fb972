/**
 * The WebSocket wiring the widget and the console share: the socket type both accept (the
 * browser's WebSocket or a test double), and handlers that act only while the socket is still
 * the client's current one — a late event from a replaced socket is ignored.
 */

/** What the clients use of a WebSocket. */
export type SocketLike = Pick<WebSocket, 'readyState' | 'send' | 'close' | 'onopen' | 'onmessage' | 'onclose' | 'onerror'>;

/** `WebSocket.OPEN`, without needing the DOM global in tests. */
export const OPEN = 1;

/** Routes text frames and the close of `ws` to the client while `isCurrent(ws)`. */
export function wireSocket(
  ws: SocketLike,
  isCurrent: (ws: SocketLike) => boolean,
  onText: (text: string) => void,
  onDrop: () => void,
): void {
  ws.onmessage = (ev) => {
    if (isCurrent(ws) && typeof ev.data === 'string') onText(ev.data);
  };
  ws.onclose = () => {
    if (isCurrent(ws)) onDrop();
  };
  ws.onerror = null;
}
