// A scripted stand-in for Twilio's SDK (`@twilio/conversations`), for the
// chat-client suite (`chat_client.rs`). It has the SDK's shape as far as
// `js/twilio.js` uses it (the real SDK's names are checked separately, in
// the browser and by `tsc`), keeps one in-memory Twilio for the whole page
// (so two clients chat with each other), and lets a test script what real
// Twilio does: be unreachable, refuse a token, warn of expiry, revoke a
// participant, remove a conversation, refuse a message.
//
// Tokens are `fake:<identity>`. Events are delivered asynchronously, as the
// real SDK's are.

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
    return this;
  }
  emit(name, ...args) {
    for (const handler of this.handlers.get(name) || []) handler(...args);
  }
}

const later = (fn) => setTimeout(fn, 0);

const world = {
  /** sid → { sid, messages: [{index, author, body, created, updated, attributes}], participants: Set, read: Map } */
  conversations: new Map(),
  /** identity → friendly name */
  names: new Map(),
  clients: [],
  reachable: true,
  refused: new Set(),
  refuseAll: false,
  provisioned: false,
  failSends: 0,
  /** [identity, sid] of every conversation a client opened, in order */
  opened: [],
  echoFirst: false,
  tokens: [],
  /** identities whose role no longer allows sending (a mute) */
  roleRefuses: new Set(),
};

function identityOf(token) {
  if (typeof token !== 'string') throw new Error('Access token is malformed');
  // `fake:<identity>` or, for a renewed token, `fake:<identity>#<n>`
  if (token.startsWith('fake:')) return token.slice(5).split('#')[0];
  // a real Twilio access token (from our server): its chat grant's identity
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (payload.grants && typeof payload.grants.identity === 'string') return payload.grants.identity;
  } catch {
    // not a JWT
  }
  throw new Error('Access token is malformed');
}

/** Adds a message (`fields`: author, body, attributes, media) to a conversation's data, at the next index. */
function append(data, fields) {
  const last = data.messages[data.messages.length - 1];
  const index = last ? last.index + 1 : data.nextIndex || 0;
  data.nextIndex = index + 1;
  const created = Date.now();
  const record = { index, created, updated: created, ...fields };
  data.messages.push(record);
  return record;
}

class FakeUser {
  constructor(client, identity) {
    this.client = client;
    this.identity = identity;
  }
  get friendlyName() {
    return world.names.get(this.identity) || null;
  }
  get isOnline() {
    return null;
  }
  async updateFriendlyName(name) {
    world.names.set(this.identity, name);
    for (const client of live()) {
      if (client.following.has(this.identity)) {
        later(() => client.emit('userUpdated', { user: new FakeUser(client, this.identity), updateReasons: ['friendlyName'] }));
      }
    }
    return this;
  }
}

class FakeParticipant {
  constructor(conversation, identity) {
    this.conversation = conversation;
    this.identity = identity;
  }
}

class FakeMessage {
  constructor(conversation, record) {
    this.conversation = conversation;
    this.record = record;
  }
  get index() { return this.record.index; }
  get author() { return this.record.author; }
  get body() { return this.record.body; }
  get dateCreated() { return new Date(this.record.created); }
  get dateUpdated() { return new Date(this.record.updated); }
  get attributes() { return this.record.attributes; }
  get attachedMedia() { return this.record.media ? [new FakeMedia(this.record.media)] : null; }
  async updateBody(body) {
    const client = this.conversation.client;
    client.ready();
    if (this.record.author !== client.identity) throw new Error('Forbidden');
    this.record.body = body;
    this.record.updated = this.record.created + 1000;
    broadcast(this.conversation.sid, (c, conv) => c.emit('messageUpdated', { message: new FakeMessage(conv, this.record), updateReasons: ['body'] }));
    return this;
  }
  async remove() {
    const client = this.conversation.client;
    client.ready();
    if (this.record.author !== client.identity) throw new Error('Forbidden');
    const data = world.conversations.get(this.conversation.sid);
    data.messages = data.messages.filter((m) => m !== this.record);
    broadcast(this.conversation.sid, (c, conv) => c.emit('messageRemoved', new FakeMessage(conv, this.record)));
    return this;
  }
}

/** A file a message carries (Twilio's media service keeps the bytes). */
class FakeMedia {
  constructor(record) {
    this.record = record;
  }
  get sid() { return this.record.sid; }
  get filename() { return this.record.filename; }
  get contentType() { return this.record.contentType; }
  get size() { return this.record.size; }
  async getContentTemporaryUrl() { return this.record.url; }
}

class FakeConversation {
  constructor(client, sid) {
    this.client = client;
    this.sid = sid;
  }
  get data() {
    const data = world.conversations.get(this.sid);
    if (!data) throw new Error('Conversation not found');
    return data;
  }
  get lastReadMessageIndex() {
    const read = this.data.read.get(this.client.identity);
    return read === undefined ? null : read;
  }
  get lastMessage() {
    const messages = this.data.messages;
    return messages.length ? { index: messages[messages.length - 1].index, dateCreated: null } : undefined;
  }
  async getMessages(pageSize = 30, anchor, direction = 'backwards') {
    this.client.ready();
    if (direction !== 'backwards') throw new Error('the stand-in pages backwards only');
    const all = this.data.messages.filter((m) => anchor === undefined || m.index <= anchor);
    const items = all.slice(-pageSize);
    return {
      items: items.map((m) => new FakeMessage(this, m)),
      hasPrevPage: all.length > items.length,
      hasNextPage: false,
      prevPage: () => this.getMessages(pageSize, items.length ? items[0].index - 1 : -1),
      nextPage: () => Promise.reject(new Error('no next page')),
    };
  }
  async sendMessage(body, attributes) {
    return this.post(body, attributes, null);
  }
  prepareMessage() {
    const conversation = this;
    const message = { body: null, attributes: {}, media: null };
    const builder = {
      setBody(body) { message.body = body; return builder; },
      setAttributes(attributes) { message.attributes = attributes; return builder; },
      addMedia({ contentType, filename, media }) {
        world.mediaCount = (world.mediaCount || 0) + 1;
        message.media = { sid: `ME${world.mediaCount}`, filename, contentType, size: media.size, url: URL.createObjectURL(media) };
        return builder;
      },
      build() {
        return {
          send() {
            let cancelled = false;
            const sending = Promise.resolve().then(() => {
              if (cancelled) throw new Error('Cancelled');
              return conversation.post(message.body, message.attributes, message.media);
            });
            sending.cancel = () => { cancelled = true; };
            return sending;
          },
        };
      },
    };
    return builder;
  }
  /** A message from this client (`sendMessage`, or a prepared one with media); its index. */
  post(body, attributes, media) {
    this.client.ready();
    if (world.failSends > 0) {
      world.failSends -= 1;
      throw new Error('Message rejected');
    }
    // what the SDK says when Twilio refuses a command the participant's role does not allow
    if (world.roleRefuses.has(this.client.identity)) throw new Error('Request responded with a non-success code 403');
    const data = this.data;
    if (!data.participants.has(this.client.identity)) throw new Error('Forbidden');
    const record = append(data, { author: this.client.identity, body, attributes, media });
    if (world.echoFirst) this.client.emit('messageAdded', new FakeMessage(this, record));
    broadcast(this.sid, (c, conv) => {
      if (!world.echoFirst || c !== this.client) c.emit('messageAdded', new FakeMessage(conv, record));
    });
    return record.index;
  }
  async typing() {
    this.client.ready();
    const me = this.client.identity;
    broadcast(this.sid, (c, conv) => {
      if (c.identity !== me) c.emit('typingStarted', new FakeParticipant(conv, me));
    });
  }
  async advanceLastReadMessageIndex(index) {
    this.client.ready();
    const read = this.data.read;
    const now = Math.max(index, read.get(this.client.identity) ?? -1);
    read.set(this.client.identity, now);
    return now;
  }
  async getParticipants() {
    this.client.ready();
    return [...this.data.participants].map((identity) => new FakeParticipant(this, identity));
  }
  async getUnreadMessagesCount() {
    this.client.ready();
    const read = this.lastReadMessageIndex;
    return read === null ? null : this.data.messages.filter((m) => m.index > read).length;
  }
  async getMessagesCount() {
    this.client.ready();
    return this.data.messages.length;
  }
  async getParticipantsCount() {
    this.client.ready();
    return this.data.participants.size;
  }
}

/** Every client that is connected (events reach only those). */
function live() {
  return world.clients.filter((c) => !c.closed && c.connectionState === 'connected');
}

/** Calls `deliver(client, conversation)` later for each connected participant's client. */
function broadcast(sid, deliver) {
  const data = world.conversations.get(sid);
  if (!data) return;
  for (const client of live()) {
    if (data.participants.has(client.identity)) later(() => deliver(client, new FakeConversation(client, sid)));
  }
}

class FakeClient extends Emitter {
  constructor(token) {
    super();
    this.identity = identityOf(token);
    this.token = token;
    this.closed = false;
    this.connectionState = 'connecting';
    this.following = new Set([this.identity]);
    this.user = new FakeUser(this, this.identity);
    world.tokens.push(token);
    world.clients.push(this);
    later(() => this.connect());
  }
  setState(state) {
    if (this.closed || this.connectionState === state) return;
    this.connectionState = state;
    this.emit('connectionStateChanged', state);
  }
  connect() {
    if (this.closed) return;
    this.emit('connectionStateChanged', 'connecting');
    if (world.refuseAll || world.refused.has(this.token)) this.setState('denied');
    else if (world.reachable) this.setState('connected');
    else {
      this.setState('disconnected');
      this.emit('connectionError', { terminal: false, message: 'Twilsock connection failed' });
    }
  }
  ready() {
    if (this.closed) throw new Error('Client is shut down');
    if (this.connectionState !== 'connected') throw new Error('Client is not connected');
  }
  async getConversationBySid(sid) {
    this.ready();
    if (world.provisioned && !world.conversations.has(sid)) addConversation(sid, [this.identity]);
    if (world.provisioned) world.conversations.get(sid).participants.add(this.identity);
    const data = world.conversations.get(sid);
    if (!data || !data.participants.has(this.identity)) throw new Error('Forbidden');
    if (!world.opened.some(([who, s]) => who === this.identity && s === sid)) world.opened.push([this.identity, sid]);
    return new FakeConversation(this, sid);
  }
  async getUser(identity) {
    this.ready();
    this.following.add(identity);
    return new FakeUser(this, identity);
  }
  async updateToken(token) {
    if (this.closed) throw new Error('Client is shut down');
    if (identityOf(token) !== this.identity) throw new Error('Identity changed');
    if (world.refuseAll || world.refused.has(token)) throw new Error('Token refused');
    this.token = token;
    world.tokens.push(token);
    if (this.connectionState !== 'connected') later(() => this.connect());
    return this;
  }
  async shutdown() {
    this.closed = true;
  }
}

// ---- what a test uses ----

/** Puts the stand-in where the shim looks for the SDK. */
export function install() {
  globalThis.Twilio = { Conversations: { Client: FakeClient } };
}

/** A conversation with these participants. */
export function addConversation(sid, identities) {
  world.conversations.set(sid, { sid, messages: [], participants: new Set(identities), read: new Map() });
}

/**
 * A message with a file and no body from `author`, posted by another
 * Twilio client (one this page does not run): every open client hears it.
 */
export function postFile(sid, author, sidOfMedia, filename, contentType, size, url) {
  const media = { sid: sidOfMedia, filename, contentType, size, url };
  const record = append(world.conversations.get(sid), { author, body: null, attributes: {}, media });
  broadcast(sid, (c, conv) => c.emit('messageAdded', new FakeMessage(conv, record)));
}

/** A text message from `author`, posted by a client this page does not run: every open client hears it; its index. */
export function postText(sid, author, body) {
  const record = append(world.conversations.get(sid), { author, body, attributes: {}, media: null });
  broadcast(sid, (c, conv) => c.emit('messageAdded', new FakeMessage(conv, record)));
  return record.index;
}

/** Twilio deleted message `index` (through its REST API, as a moderator's removal does): every open client hears it. */
export function removeMessage(sid, index) {
  const data = world.conversations.get(sid);
  const record = data.messages.find((m) => m.index === index);
  data.messages = data.messages.filter((m) => m !== record);
  broadcast(sid, (c, conv) => c.emit('messageRemoved', new FakeMessage(conv, record)));
}

/** Adds a participant; the others' clients hear `participantJoined`. */
export function addParticipant(sid, identity) {
  world.conversations.get(sid).participants.add(identity);
  broadcast(sid, (c, conv) => c.emit('participantJoined', new FakeParticipant(conv, identity)));
}

/** Twilio becomes unreachable (every client disconnects) or reachable again. */
export function setReachable(reachable) {
  world.reachable = reachable;
  for (const client of world.clients.filter((c) => !c.closed)) {
    later(() => {
      if (reachable) client.connect();
      else {
        client.setState('connecting');
        client.setState('disconnected');
        client.emit('connectionError', { terminal: false, message: 'Twilsock connection failed' });
      }
    });
  }
}

/**
 * Trust the server's provisioning: a conversation a client opens exists
 * and has it as a participant (for a page whose sessions come from a real
 * server).
 */
export function trustServer() {
  world.provisioned = true;
}

/** Twilio refuses every token from now on (the API key was revoked). */
export function refuseEverything() {
  world.refuseAll = true;
}

/** Twilio refuses `identity`'s sends from now on, as for a participant whose role lost `sendMessage` (a mute); `false` lifts it. */
export function refuseSendsOf(identity, refused = true) {
  if (refused) world.roleRefuses.add(identity);
  else world.roleRefuses.delete(identity);
}

/** Twilio refuses this token (e.g. its API key was revoked). */
export function refuse(token) {
  world.refused.add(token);
}

/** Twilio warns the clients of `identity` that their token expires soon. */
export function expireSoon(identity) {
  for (const client of live().filter((c) => c.identity === identity)) later(() => client.emit('tokenAboutToExpire'));
}

/** Twilio ends the session of `identity`: token expired, client disconnected. */
export function expire(identity) {
  for (const client of world.clients.filter((c) => !c.closed && c.identity === identity)) {
    later(() => {
      client.emit('tokenExpired');
      client.setState('disconnected');
    });
  }
}

/** Removes `identity` from the conversation (revocation). */
export function revoke(sid, identity) {
  const data = world.conversations.get(sid);
  data.participants.delete(identity);
  for (const client of live().filter((c) => c.identity === identity)) {
    later(() => client.emit('conversationLeft', new FakeConversation(client, sid)));
  }
  broadcast(sid, (c, conv) => c.emit('participantLeft', new FakeParticipant(conv, identity)));
}

/** Deletes the conversation. */
export function removeConversation(sid) {
  const data = world.conversations.get(sid);
  world.conversations.delete(sid);
  for (const client of live().filter((c) => data.participants.has(c.identity))) {
    later(() => client.emit('conversationRemoved', new FakeConversation(client, sid)));
  }
}

/** The sender hears of its own message before `sendMessage` resolves (Twilio does not promise an order). */
export function echoFirst(on) {
  world.echoFirst = on;
}

/** The next `n` messages sent are refused. */
export function failSends(n) {
  world.failSends = n;
}

/** How many SDK clients were created for `identity`, and the tokens they were given. */
export function clientsOf(identity) {
  return world.clients.filter((c) => c.identity === identity).length;
}
/** How many of `identity`'s SDK clients are not shut down. */
export function openClientsOf(identity) {
  return world.clients.filter((c) => c.identity === identity && !c.closed).length;
}

/** The conversations `identity`'s clients opened, first opened first. */
export function openedBy(identity) {
  return world.opened.filter(([who]) => who === identity).map(([, sid]) => sid);
}
export function tokensSeen() {
  return world.tokens.join(' ');
}
