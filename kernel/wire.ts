// The Jupyter wire format (messaging spec 5.3): frames, HMAC signatures, headers.
import * as crypto from "node:crypto";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = "<IDS|MSG>";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, any>> {
  /** ZeroMQ routing identities (ROUTER sockets); empty for iopub. */
  identities: Buffer[];
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** Signs and checks messages with the connection file's key (HMAC-SHA256). */
export class MessageSigner {
  constructor(
    private readonly key: string,
    private readonly scheme = "hmac-sha256",
  ) {
    if (key && scheme !== "hmac-sha256") throw new Error(`unsupported signature scheme ${scheme}`);
  }

  sign(parts: Buffer[]): string {
    if (!this.key) return "";
    const hmac = crypto.createHmac("sha256", this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  verify(signature: string, parts: Buffer[]): boolean {
    if (!this.key) return true;
    const expected = Buffer.from(this.sign(parts), "utf8");
    const given = Buffer.from(signature, "utf8");
    // timingSafeEqual avoids leaking the key through comparison time.
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }
}

export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
}

/** Frames -> message; throws InvalidMessageError on a bad signature or a malformed message. */
export function decodeMessage(frames: Buffer[], signer: MessageSigner): JupyterMessage {
  const delimiterIndex = frames.findIndex((frame) => frame.toString() === DELIMITER);
  if (delimiterIndex < 0 || frames.length < delimiterIndex + 6) {
    throw new InvalidMessageError("malformed message: no <IDS|MSG> delimiter or missing frames");
  }
  const signature = frames[delimiterIndex + 1].toString();
  const signed = frames.slice(delimiterIndex + 2, delimiterIndex + 6);
  if (!signer.verify(signature, signed)) throw new InvalidMessageError("invalid HMAC signature");
  const [header, parent, metadata, content] = signed.map((frame) => JSON.parse(frame.toString()));
  if (!header || typeof header.msg_type !== "string") {
    throw new InvalidMessageError("malformed message: header without msg_type");
  }
  return {
    identities: frames.slice(0, delimiterIndex),
    header,
    parent_header: parent ?? {},
    metadata: metadata ?? {},
    content: content ?? {},
    buffers: frames.slice(delimiterIndex + 6),
  };
}

export function encodeMessage(message: JupyterMessage, signer: MessageSigner): Buffer[] {
  const signed = [message.header, message.parent_header, message.metadata, message.content].map(
    (part) => Buffer.from(JSON.stringify(part), "utf8"),
  );
  return [
    ...message.identities,
    Buffer.from(DELIMITER),
    Buffer.from(signer.sign(signed)),
    ...signed,
    ...message.buffers,
  ];
}

export function newHeader(msgType: string, session: string, username = "gplab"): MessageHeader {
  return {
    msg_id: crypto.randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** A message that answers (or is caused by) `parent`, routed back to the same peer. */
export function replyTo<C>(
  parent: JupyterMessage,
  msgType: string,
  content: C,
  session: string,
  identities: Buffer[] = parent.identities,
): JupyterMessage<C> {
  return {
    identities,
    header: newHeader(msgType, session),
    parent_header: parent.header,
    metadata: {},
    content,
    buffers: [],
  };
}
