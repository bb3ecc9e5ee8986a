// The deployment's settings: the stack name (STACK_NAME, as the seed and
// the Lambda use it), and a few numbers read from CDK context (`-c key=value`)
// or the environment, each checked here so a bad value stops `cdk synth`
// with a message naming it, before anything reaches AWS.
import * as path from 'node:path';

export interface Settings {
  /** The stack name; SSM parameters live under `/${stackName}/`. */
  stackName: string;
  /** Exact origins the toolbox is served from (CORS of the API and the widget). */
  corsOrigins: string[];
  /** API Gateway stage throttling: steady requests per second and burst. */
  throttleRate: number;
  throttleBurst: number;
  /** Days to keep the Lambda's and the API's logs. */
  logRetentionDays: number;
  /** The folder holding each Lambda's `bootstrap` (`cargo xtask dist`). */
  lambdaDir: string;
  /**
   * The toolbox's room URL, `{context}` where the room's name goes; set, it
   * turns notification e-mail on (the sweep and its schedule are made).
   */
  notifyLink?: string;
  /**
   * The host name SendGrid Inbound Parse receives replies for (its MX
   * record points at SendGrid); set, with `chat/inboundKey` in SSM, digests
   * can be answered by e-mail.
   */
  replyDomain?: string;
  /**
   * How many days rooms' messages are kept (`DACHAT_RETENTION`'s form:
   * `ROOM=DAYS`, `PREFIX-=DAYS`, `*=DAYS`, comma-separated); set, the sweep
   * is made (with or without notifications) and deletes older messages.
   */
  retention?: string;
}

/** The retention periods CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type Lookup = (key: string) => string | undefined;

function whole(lookup: Lookup, key: string, fallback: number, min: number, max: number): number {
  const raw = lookup(key);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`setting ${key}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads the settings: `context(key)` first (cdk -c), then the environment. */
export function readSettings(context: Lookup, env: NodeJS.ProcessEnv = process.env): Settings {
  const lookup: Lookup = (key) => {
    const fromContext = context(key);
    if (fromContext !== undefined) return String(fromContext);
    const envName = 'DACHAT_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
    return env[envName];
  };
  const stackName = (env.STACK_NAME ?? '').trim() || 'twilio-integration-dev';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,100}$/.test(stackName)) {
    throw new Error(`STACK_NAME ${JSON.stringify(stackName)}: letters, digits and '-', starting with a letter (a CloudFormation stack name)`);
  }
  const corsOrigins = (lookup('corsOrigins') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new Error(`setting corsOrigins: ${JSON.stringify(origin)} is not a URL`);
    }
    if (url.origin !== origin || !['https:', 'http:'].includes(url.protocol)) {
      throw new Error(`setting corsOrigins: ${JSON.stringify(origin)} must be an exact origin like https://toolbox.example (no path, no trailing slash)`);
    }
  }
  const logRetentionDays = whole(lookup, 'logRetentionDays', 30, 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    throw new Error(`setting logRetentionDays: CloudWatch keeps logs for one of ${RETENTION_DAYS.join(', ')} days`);
  }
  const notifyLink = (lookup('notifyLink') ?? '').trim() || undefined;
  if (notifyLink !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(notifyLink.replace('{context}', 'general'));
    } catch {
      url = undefined;
    }
    if (!notifyLink.includes('{context}') || url?.protocol !== 'https:') {
      throw new Error(`setting notifyLink: ${JSON.stringify(notifyLink)} must be an https URL with {context} where the room goes`);
    }
  }
  const replyDomain = (lookup('replyDomain') ?? '').trim().toLowerCase() || undefined;
  if (replyDomain !== undefined) {
    const label = /^[a-z0-9-]{1,63}$/;
    if (replyDomain.length > 190 || !replyDomain.includes('.') || !replyDomain.split('.').every((l) => label.test(l))) {
      throw new Error(`setting replyDomain: ${JSON.stringify(replyDomain)} must be a domain name like reply.chat.example.org`);
    }
    if (notifyLink === undefined) {
      throw new Error('setting replyDomain: replies by e-mail answer notification e-mails; set notifyLink too');
    }
  }
  const retention = (lookup('retention') ?? '').trim() || undefined;
  if (retention !== undefined) {
    const entries = retention.split(',').map((e) => e.trim()).filter((e) => e !== '');
    const entry = /^(?:(?:\*|[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]*)*-?)=)?(\d{1,5})$/;
    const ok = entries.length > 0 && entries.every((e) => {
      const m = entry.exec(e);
      return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 36500;
    });
    if (!ok) {
      throw new Error(`setting retention: ${JSON.stringify(retention)} must be ROOM=DAYS, PREFIX-=DAYS or *=DAYS entries, comma-separated, days from 1 to 36500 (e.g. shipment-=365,general=90)`);
    }
  }
  return {
    notifyLink,
    replyDomain,
    retention,
    stackName,
    corsOrigins,
    throttleRate: whole(lookup, 'throttleRate', 50, 1, 10000),
    throttleBurst: whole(lookup, 'throttleBurst', 100, 1, 5000),
    logRetentionDays,
    lambdaDir: lookup('lambdaDir') ?? path.join(import.meta.dirname, '..', '..', 'target', 'lambda'),
  };
}
