import { WebSocket } from "ws";
import type { AuthorizerContext, ConnectionFacts } from "./lambda-events.js";
import type { ConnectionInfo, GatewayLimits } from "./options.js";

export interface CloseStatus {
  readonly code: number;
  readonly reason: string;
}

/** API Gateway's own closes (idle, lifetime, DeleteConnection, shutdown) say "Going away". */
export const GOING_AWAY: CloseStatus = { code: 1001, reason: "Going away" };

/**
 * One open WebSocket connection: its facts, its idle and lifetime timers, and who closed it (the
 * `$disconnect` event reports the gateway's status when the gateway closed, the client's otherwise).
 */
export class LiveConnection {
  lastActiveAt: number;
  private closedBy: CloseStatus | undefined;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly lifetimeTimer: NodeJS.Timeout;
  private readonly closed: Promise<void>;

  readonly socket: WebSocket;
  readonly facts: ConnectionFacts;
  readonly authorizer: AuthorizerContext | undefined;
  constructor(
    socket: WebSocket,
    facts: ConnectionFacts,
    authorizer: AuthorizerContext | undefined,
    limits: Pick<GatewayLimits, "idleTimeoutMs" | "maxConnectionMs">,
  ) {
    this.socket = socket;
    this.facts = facts;
    this.authorizer = authorizer;
    this.lastActiveAt = facts.connectedAt;
    this.idleTimer = setTimeout(() => this.close(GOING_AWAY), limits.idleTimeoutMs);
    this.lifetimeTimer = setTimeout(() => this.close(GOING_AWAY), limits.maxConnectionMs);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  get connectionId(): string {
    return this.facts.connectionId;
  }

  /** True until either side starts closing. */
  get open(): boolean {
    return this.closedBy === undefined && this.socket.readyState === WebSocket.OPEN;
  }

  /** A message in either direction restarts the idle timer; control frames do not call this. */
  touch(now = Date.now()): void {
    this.lastActiveAt = now;
    this.idleTimer.refresh();
  }

  /** Sends one message (text unless binary); resolves once written. Counts as activity. */
  send(data: Buffer | string, binary = false): Promise<void> {
    if (!this.open) return Promise.reject(new Error(`Connection ${this.connectionId} is closing`));
    this.touch();
    return new Promise((resolve, reject) => {
      this.socket.send(data, { binary }, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Starts a gateway-initiated close; later closes keep the first status. */
  close(status: CloseStatus): void {
    if (this.closedBy) return;
    this.recordClose(status);
    this.socket.close(status.code, status.reason);
  }

  /** Notes a close the `ws` library started itself (oversize or invalid frames). */
  recordClose(status: CloseStatus): void {
    this.closedBy ??= status;
    this.stopTimers();
  }

  /** Closes and waits for the close handshake, cutting the socket after `graceMs`. */
  async closeAndWait(status: CloseStatus, graceMs: number): Promise<void> {
    this.close(status);
    const cut = setTimeout(() => this.socket.terminate(), graceMs);
    await this.closed;
    clearTimeout(cut);
  }

  stopTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifetimeTimer);
  }

  /** The status `$disconnect` reports, given what the `ws` close event saw from the client. */
  disconnectStatus(clientCode: number, clientReason: string): CloseStatus {
    if (this.closedBy) return this.closedBy;
    if (clientCode === 1005) return { code: 1005, reason: "Client-side close frame status not set" };
    return { code: clientCode, reason: clientReason };
  }

  info(): ConnectionInfo {
    return {
      connectionId: this.connectionId,
      connectedAt: this.facts.connectedAt,
      lastActiveAt: this.lastActiveAt,
      sourceIp: this.facts.sourceIp,
      userAgent: this.facts.userAgent,
      authorizer: this.authorizer,
    };
  }
}
