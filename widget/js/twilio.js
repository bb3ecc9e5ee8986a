// @ts-check
// The bridge between the widget (Rust, `src/twilio.rs`) and Twilio's own
// browser SDK, `@twilio/conversations`. It is written against the SDK's type
// definitions and type-checked (`tsc -p widget/js`) by the test command, so a
// method or event the pinned SDK does not have fails the build.
//
// The shim only translates: SDK objects in, plain objects shaped like the
// widget's frames (`protocol::local::ServerFrame`) out through one `emit`
// callback. It never throws into the page: every failure becomes a rejected
// promise (for the Rust side to report) or an `error` frame.

/** @typedef {import('@twilio/conversations').Client} Client */
/** @typedef {import('@twilio/conversations').Conversation} Conversation */
/** @typedef {import('@twilio/conversations').Message} Message */
/** @typedef {import('@twilio/conversations').Media} Media */
/** @typedef {import('@twilio/conversations').MessageBuilder} MessageBuilder */
/** @typedef {import('@twilio/conversations').UnsentMessage} UnsentMessage */
/** @typedef {import('@twilio/conversations').Participant} Participant */
/** @typedef {import('@twilio/conversations').User} User */
/** @typedef {import('@twilio/conversations').ConnectionState} ConnectionState */
/**
 * A message as the widget's frames carry it (`protocol::local::Message`).
 * @typedef {{ id: number, room: string, author: string, body: string, createdAt: number, editedAt?: number | undefined, deleted: boolean, attachment?: WireAttachment | undefined }} WireMessage
 */
/**
 * A message's file (`protocol::local::Attachment`): its media SID as the id.
 * @typedef {{ id: string, name: string, contentType: string, size: number }} WireAttachment
 */
/** @typedef {{ Client: typeof import('@twilio/conversations').Client }} Sdk */
/**
 * What the bridge reports: `frame` with a ServerFrame-shaped object, or
 * `connection` with the connection's state (see `create`).
 * @typedef {((kind: 'frame', payload: object) => void) & ((kind: 'connection', payload: string) => void)} Emit
 */

/** How many of a conversation's latest messages are searched before a resend. */
const RESEND_WINDOW = 50;

/** The SDK build shipped beside the widget (see `xtask/src/widget.rs`). */
export const SDK_FILE = 'twilio-conversations.min.js';

/**
 * Every SDK name the bridge relies on, by class: methods and getters (on the
 * class's prototype), fields (set on each instance) and events. A browser
 * test checks each against the shipped SDK build; `tsc` checks them all.
 */
/**
 * @template T
 * @typedef {{ methods: (keyof T)[], getters: (keyof T)[], fields: (keyof T)[], events: never[] }} Uses
 */
/** @type {{ Client: Omit<Uses<Client>, 'events'> & { events: Parameters<Client['on']>[0][] }, Conversation: Uses<Conversation>, Message: Uses<Message>, Media: Uses<Media>, MessageBuilder: Uses<MessageBuilder>, UnsentMessage: Uses<UnsentMessage>, Participant: Uses<Participant>, User: Uses<User> }} */
export const USES = {
  Client: {
    methods: ['getConversationBySid', 'getUser', 'updateToken', 'shutdown'],
    getters: ['user'],
    fields: ['connectionState'],
    events: [
      'connectionStateChanged',
      'connectionError',
      'initFailed',
      'tokenAboutToExpire',
      'tokenExpired',
      'messageAdded',
      'messageUpdated',
      'messageRemoved',
      'participantJoined',
      'participantLeft',
      'typingStarted',
      'conversationUpdated',
      'conversationLeft',
      'conversationRemoved',
      'userUpdated',
    ],
  },
  Conversation: {
    methods: [
      'getMessages',
      'sendMessage',
      'prepareMessage',
      'typing',
      'advanceLastReadMessageIndex',
      'getParticipants',
      'getParticipantsCount',
      'getUnreadMessagesCount',
      'getMessagesCount',
    ],
    getters: ['lastReadMessageIndex', 'lastMessage'],
    fields: ['sid'],
    events: [],
  },
  Message: {
    methods: ['updateBody', 'remove'],
    getters: ['index', 'author', 'body', 'dateCreated', 'dateUpdated', 'attributes', 'attachedMedia'],
    fields: ['conversation'],
    events: [],
  },
  Media: { methods: ['getContentTemporaryUrl'], getters: ['sid', 'filename', 'contentType', 'size'], fields: [], events: [] },
  MessageBuilder: { methods: ['setBody', 'setAttributes', 'addMedia', 'build'], getters: [], fields: [], events: [] },
  UnsentMessage: { methods: ['send'], getters: [], fields: [], events: [] },
  Participant: { methods: [], getters: ['identity'], fields: ['conversation'], events: [] },
  User: { methods: ['updateFriendlyName'], getters: ['identity', 'friendlyName', 'isOnline'], fields: [], events: [] },
};

/** The most members a `joined` frame lists (`protocol::local::MAX_MEMBERS_LISTED`). */
const MAX_MEMBERS_LISTED = 200;

/** @type {Promise<Sdk> | undefined} */
let loading;

/**
 * The SDK's URL: beside the widget. This module is a wasm-bindgen snippet,
 * served from `<widget dir>/snippets/<crate>/js/twilio.js`.
 * @returns {string}
 */
export function sdkUrl() {
  const here = import.meta.url;
  const cut = here.lastIndexOf('/snippets/');
  return (cut >= 0 ? here.slice(0, cut + 1) : new URL('./', here).href) + SDK_FILE;
}

/** @returns {Sdk | undefined} */
function present() {
  const twilio = /** @type {{ Twilio?: { Conversations?: Sdk } }} */ (/** @type {unknown} */ (globalThis)).Twilio;
  return twilio && twilio.Conversations && typeof twilio.Conversations.Client === 'function'
    ? twilio.Conversations
    : undefined;
}

/**
 * Loads the SDK's browser build once (a classic script: the build sets
 * `window.Twilio.Conversations`). An SDK already on the page is used as is.
 * @param {string} url
 * @returns {Promise<Sdk>}
 */
export function loadSdk(url) {
  const ready = present();
  if (ready) return Promise.resolve(ready);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.async = true;
      script.onload = () => {
        const sdk = present();
        if (sdk) resolve(sdk);
        else reject(new Error('the chat service library did not start'));
      };
      script.onerror = () => {
        script.remove();
        reject(new Error('the chat service library could not be loaded'));
      };
      document.head.appendChild(script);
    });
    // a failed load may be tried again
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function describe(error) {
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return String(error);
}

/**
 * Whether Twilio refused a command because the participant's role does not
 * allow it (the SDK says "Request responded with a non-success code 403").
 * DAChat's roles deny a send or an edit only to a muted member (the
 * `dachat muted` role), so the window reports those as `muted`, as the
 * local provider does, in the user's language.
 * @param {unknown} error
 * @returns {boolean}
 */
function refusedByRole(error) {
  return describe(error).endsWith('non-success code 403');
}

/**
 * @param {Date | null} date
 * @returns {number | undefined}
 */
function ms(date) {
  return date ? date.getTime() : undefined;
}

export class TwilioBridge {
  /**
   * Creates the page's one SDK client; events start flowing at once.
   * @param {Sdk} sdk
   * @param {string} token a Twilio access token
   * @param {Emit} emit
   */
  constructor(sdk, token, emit) {
    this.sdk = sdk;
    this.emit = emit;
    /** @type {Map<string, Conversation>} room → conversation */
    this.rooms = new Map();
    /** @type {Map<string, string>} conversation sid → room */
    this.roomOf = new Map();
    /** identities whose nick we follow */
    this.followed = new Set();
    /** @type {Map<string, Media>} the files of the messages shown, by media SID (`mediaUrl`) */
    this.media = new Map();
    this.everConnected = false;
    this.closed = false;
    this.client = this.create(token);
  }

  /**
   * @param {string} token
   * @returns {Client}
   */
  create(token) {
    const client = new this.sdk.Client(token);
    /** @param {'connecting' | 'online' | 'reconnecting' | 'unreachable' | 'denied' | 'expiring' | 'expired' | 'failed'} state */
    const say = (state) => {
      if (!this.closed && client === this.client) this.emit('connection', state);
    };
    client.on('connectionStateChanged', (/** @type {ConnectionState} */ state) => {
      if (state === 'connected') {
        this.everConnected = true;
        say('online');
        this.welcome(client);
      } else if (state === 'connecting') {
        say(this.everConnected ? 'reconnecting' : 'connecting');
      } else if (state === 'disconnected' || state === 'error') {
        say('unreachable');
      } else if (state === 'denied') {
        say('denied');
      }
    });
    client.on('connectionError', (error) => say(error.terminal ? 'failed' : 'unreachable'));
    client.on('initFailed', () => say('failed'));
    client.on('tokenAboutToExpire', () => say('expiring'));
    client.on('tokenExpired', () => say('expired'));
    client.on('messageAdded', (message) => this.carry(client, 'message', message));
    client.on('messageUpdated', ({ message }) => this.carry(client, 'edited', message));
    client.on('messageRemoved', (message) =>
      this.frame(client, { type: 'deleted', room: this.room(message.conversation), id: message.index }),
    );
    client.on('participantJoined', (participant) => this.presence(client, participant, true));
    client.on('participantLeft', (participant) => this.presence(client, participant, false));
    client.on('typingStarted', (participant) => {
      if (participant.identity) {
        this.frame(client, { type: 'typing', room: this.room(participant.conversation), identity: participant.identity });
      }
    });
    client.on('conversationUpdated', ({ conversation, updateReasons }) => {
      const upTo = conversation.lastReadMessageIndex;
      if (updateReasons.includes('lastReadMessageIndex') && upTo !== null) {
        this.frame(client, { type: 'read', room: this.room(conversation), upTo });
      }
    });
    client.on('conversationLeft', (conversation) => this.gone(client, conversation, 'You no longer have access to'));
    client.on('conversationRemoved', (conversation) => this.gone(client, conversation, 'This room was removed:'));
    client.on('userUpdated', ({ user, updateReasons }) => {
      if (updateReasons.includes('friendlyName')) {
        this.frame(client, { type: 'nick', identity: user.identity, nick: this.nickOf(user) });
      }
    });
    return client;
  }

  /**
   * @param {Client} client
   * @param {object} frame
   */
  frame(client, frame) {
    if (!this.closed && client === this.client && (!('room' in frame) || frame.room)) this.emit('frame', frame);
  }

  /**
   * Reports a message of an open room (others are not the widget's).
   * @param {Client} client
   * @param {'message' | 'edited'} type
   * @param {Message} message
   */
  carry(client, type, message) {
    const shaped = this.message(message);
    if (!shaped.room) return;
    // Our own new message can arrive before `sendMessage` resolves: acknowledge
    // it first, so the widget never shows it twice (pending and delivered).
    const attributes = message.attributes;
    if (type === 'message' && shaped.author === client.user.identity && attributes && typeof attributes === 'object'
      && !Array.isArray(attributes) && typeof attributes.clientId === 'string') {
      this.frame(client, { type: 'ack', clientId: attributes.clientId, id: shaped.id });
    }
    this.frame(client, { type, message: shaped });
  }

  /**
   * @param {Conversation} conversation
   * @returns {string} the room, or '' for a conversation the widget has not opened
   */
  room(conversation) {
    return this.roomOf.get(conversation.sid) || '';
  }

  /**
   * @param {User} user
   * @returns {string | null}
   */
  nickOf(user) {
    const name = user.friendlyName;
    return name && name !== user.identity ? name : null;
  }

  /**
   * @param {Message} message
   * @returns {WireMessage}
   */
  message(message) {
    const created = ms(message.dateCreated);
    const updated = ms(message.dateUpdated);
    const room = this.room(message.conversation);
    // the first file, if any (the window shows one per message); its
    // temporary address is asked for when it is shown (`mediaUrl`)
    const media = message.attachedMedia?.[0];
    if (media) this.media.set(media.sid, media);
    return {
      id: message.index,
      room,
      author: message.author || '',
      // no body and no file: a content template, which the window does not show
      body: message.body ?? (media ? '' : '(an attachment this chat window cannot show)'),
      createdAt: created === undefined ? Date.now() : created,
      editedAt: updated !== undefined && created !== undefined && updated > created ? updated : undefined,
      deleted: false,
      attachment: media
        ? { id: media.sid, name: media.filename || 'file', contentType: media.contentType, size: media.size }
        : undefined,
    };
  }

  /**
   * A temporary address of the file `sid` of a message shown (Twilio's
   * media service; `null` for a file the bridge has not seen).
   * @param {string} sid
   * @returns {Promise<string | null>}
   */
  mediaUrl(sid) {
    const media = this.media.get(sid);
    return media ? media.getContentTemporaryUrl() : Promise.resolve(null);
  }

  /** @param {Client} client */
  welcome(client) {
    const user = client.user;
    this.followed.add(user.identity);
    this.frame(client, {
      type: 'welcome',
      identity: user.identity,
      nick: this.nickOf(user),
      rooms: [...this.rooms.keys()],
    });
  }

  /**
   * @param {Client} client
   * @param {Participant} participant
   * @param {boolean} online
   */
  presence(client, participant, online) {
    const identity = participant.identity;
    if (!identity) return;
    this.frame(client, { type: 'presence', room: this.room(participant.conversation), identity, online });
    if (online) this.follow(client, [identity]);
  }

  /**
   * @param {Client} client
   * @param {Conversation} conversation
   * @param {string} why
   */
  gone(client, conversation, why) {
    const room = this.room(conversation);
    if (!room) return;
    this.rooms.delete(room);
    this.roomOf.delete(conversation.sid);
    this.frame(client, { type: 'error', code: 'room_closed', room, message: `${why} ${room}.` });
  }

  /**
   * Follows the nicks of these identities (the SDK then reports changes).
   * @param {Client} client
   * @param {string[]} identities
   */
  follow(client, identities) {
    for (const identity of identities) {
      if (this.followed.has(identity)) continue;
      this.followed.add(identity);
      client.getUser(identity).then(
        (user) => {
          const nick = this.nickOf(user);
          if (nick) this.frame(client, { type: 'nick', identity, nick });
        },
        () => this.followed.delete(identity),
      );
    }
  }

  /**
   * @param {string} room
   * @returns {Conversation}
   */
  conversation(room) {
    const conversation = this.rooms.get(room);
    if (!conversation) throw new Error(`not in ${room}`);
    return conversation;
  }

  /**
   * Sends a message carrying a file through Twilio's media service (the
   * SDK uploads it); an `ack` frame follows once Twilio has it. Returns the
   * SDK's cancellable promise: `cancel()` stops the upload.
   * @param {string} room
   * @param {string} clientId
   * @param {string} body
   * @param {Blob} media
   * @param {string} contentType
   * @param {string} filename
   */
  sendMedia(room, clientId, body, media, contentType, filename) {
    const client = this.client;
    const builder = this.conversation(room).prepareMessage()
      .setAttributes({ clientId })
      .addMedia({ contentType, filename, media });
    if (body) builder.setBody(body);
    const sending = builder.build().send();
    sending.then((id) => { if (typeof id === 'number') this.frame(client, { type: 'ack', clientId, id }); }, () => {});
    return sending;
  }

  /**
   * @param {string} room
   * @param {number} index
   * @returns {Promise<Message>}
   */
  async find(room, index) {
    const page = await this.conversation(room).getMessages(1, index, 'backwards');
    const message = page.items.find((m) => m.index === index);
    if (!message) throw new Error('that message is gone');
    return message;
  }

  /**
   * Opens a room's conversation and reports it `joined`.
   * @param {string} room
   * @param {string} sid
   */
  async open(room, sid) {
    const client = this.client;
    const conversation = await client.getConversationBySid(sid);
    this.rooms.set(room, conversation);
    this.roomOf.set(conversation.sid, room);
    const [participants, count, unread] = await Promise.all([
      conversation.getParticipants(),
      conversation.getParticipantsCount(),
      // null until the user has read anything: then every message is unread
      conversation.getUnreadMessagesCount().then((n) => (n === null ? conversation.getMessagesCount() : n)),
    ]);
    const identities = participants
      .map((p) => p.identity)
      .filter((identity) => typeof identity === 'string')
      .slice(0, MAX_MEMBERS_LISTED);
    this.frame(client, {
      type: 'joined',
      room,
      members: identities.map((identity) => ({ identity, online: false })),
      memberCount: count,
      readUpTo: conversation.lastReadMessageIndex,
      lastId: conversation.lastMessage && typeof conversation.lastMessage.index === 'number'
        ? conversation.lastMessage.index
        : null,
      unread,
    });
    this.follow(client, identities);
  }

  /**
   * A page of messages older than `before` (the newest when absent), reported
   * oldest first as a `history` frame.
   * @param {string} room
   * @param {number | undefined} before
   * @param {number} limit
   */
  async history(room, before, limit) {
    const client = this.client;
    const conversation = this.conversation(room);
    if (before !== undefined && before <= 0) {
      this.frame(client, { type: 'history', room, messages: [], hasMore: false });
      return;
    }
    const page = await conversation.getMessages(limit, before === undefined ? undefined : before - 1, 'backwards');
    const messages = page.items.map((m) => this.message(m)).sort((a, b) => a.id - b.id);
    this.frame(client, { type: 'history', room, messages, hasMore: page.hasPrevPage });
    this.follow(client, [...new Set(page.items.map((m) => m.author || '').filter(Boolean))]);
  }

  /**
   * Sends a message; resolves once Twilio has it (then an `ack` frame
   * follows). Twilio does not deduplicate: with `lookFirst` (the message
   * may have reached it before a lost connection or a reload) the
   * conversation's recent messages are searched for this user's message
   * with this client id first, and a found one is acknowledged instead.
   * @param {string} room
   * @param {string} clientId
   * @param {string} body
   * @param {boolean} lookFirst
   */
  async send(room, clientId, body, lookFirst) {
    const client = this.client;
    const conversation = this.conversation(room);
    if (lookFirst) {
      const me = client.user.identity;
      const recent = await conversation.getMessages(RESEND_WINDOW);
      const found = recent.items.find((m) => {
        const attributes = /** @type {{ clientId?: unknown } | null} */ (m.attributes);
        return m.author === me && attributes !== null && typeof attributes === 'object' && attributes.clientId === clientId;
      });
      if (found) {
        this.frame(client, { type: 'ack', clientId, id: found.index });
        return;
      }
    }
    let id;
    try {
      id = await conversation.sendMessage(body, { clientId });
    } catch (error) {
      if (!refusedByRole(error)) throw error;
      this.frame(client, { type: 'error', code: 'muted', message: '', clientId });
      return;
    }
    this.frame(client, { type: 'ack', clientId, id });
  }

  /**
   * @param {string} room
   * @param {number} index
   * @param {string} body
   */
  async edit(room, index, body) {
    const message = await this.find(room, index);
    try {
      await message.updateBody(body);
    } catch (error) {
      if (!refusedByRole(error)) throw error;
      this.frame(this.client, { type: 'error', code: 'muted', message: '' });
    }
  }

  /**
   * @param {string} room
   * @param {number} index
   */
  async remove(room, index) {
    await (await this.find(room, index)).remove();
  }

  /** @param {string} room */
  async typing(room) {
    await this.conversation(room).typing();
  }

  /**
   * @param {string} room
   * @param {number} upTo
   */
  async read(room, upTo) {
    const client = this.client;
    await this.conversation(room).advanceLastReadMessageIndex(upTo);
    this.frame(client, { type: 'read', room, upTo });
  }

  /** @param {string} nick an empty nick clears it */
  async nick(nick) {
    await this.client.user.updateFriendlyName(nick);
  }

  /** @param {string} token a renewed Twilio access token */
  async updateToken(token) {
    await this.client.updateToken(token);
  }

  /**
   * Starts over with a new SDK client (the user pressed "retry", or Twilio
   * refused the old one); the rooms are opened again once it is connected.
   * @param {string} token
   */
  restart(token) {
    const old = this.client;
    this.rooms.clear();
    this.roomOf.clear();
    this.followed.clear();
    this.everConnected = false;
    this.client = this.create(token);
    old.shutdown().catch(() => {});
  }

  /** Disconnects for good; no event is reported after this. */
  shutdown() {
    this.closed = true;
    this.client.shutdown().catch(() => {});
  }

  /**
   * @param {unknown} error
   * @returns {string}
   */
  static describe(error) {
    return describe(error);
  }
}
