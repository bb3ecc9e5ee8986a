// Assertions on the synthesized templates, one per promise of the
// deployment (README "Deploy to AWS"), made with the real arm64 Lambda
// artifacts of `cargo xtask dist`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { ACCESS_LOG_FORMAT } from '../lib/lambda-api.ts';
import { readSettings, type Settings } from '../lib/settings.ts';
import { DachatStack, DevExtrasStack } from '../lib/stacks.ts';

const env = { account: '111111111111', region: 'eu-west-1' };

function settings(overrides: Partial<Settings> = {}): Settings {
  return { ...readSettings(() => undefined, { STACK_NAME: 'dachat-test' }), ...overrides };
}

function synth(s: Settings = settings()) {
  const app = new App();
  const main = new DachatStack(app, s, { env });
  const dev = new DevExtrasStack(app, s, { env });
  return { main: Template.fromStack(main), dev: Template.fromStack(dev) };
}

const NOTIFY_LINK = 'https://toolbox.distributeaid.org/chat?context={context}';
const { main, dev } = synth(settings({ corsOrigins: ['https://toolbox.distributeaid.org'], notifyLink: NOTIFY_LINK }));

/** Every IAM policy statement of a template. */
function statements(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
  );
}

/** A CloudFormation value as text (Fn::Join pieces joined, other tokens named). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(text).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  return ref ? `{${ref}}` : JSON.stringify(value);
}

describe('the token service', () => {
  test('is the real arm64 Rust binary on provided.al2023', () => {
    main.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Environment: { Variables: { STACK_NAME: 'dachat-test' } },
    });
    for (const binary of ['dachat-lambda', 'dachat-dev-token', 'dachat-notifier']) {
      const elf = readFileSync(join(settings().lambdaDir, binary, 'bootstrap'));
      assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF', `${binary} is an ELF binary`);
      assert.equal(elf.readUInt16LE(18), 0xb7, `${binary} is built for aarch64 (e_machine EM_AARCH64)`);
    }
  });

  test('reads only its own SSM parameters, and decrypts only through SSM', () => {
    const all = statements(main);
    const ssm = all.find((s) => s.Sid === 'ReadOwnParameters');
    assert.ok(ssm, JSON.stringify(all));
    assert.deepEqual(ssm.Action, ['ssm:GetParametersByPath', 'ssm:GetParameters', 'ssm:GetParameter']);
    assert.deepEqual((ssm.Resource as unknown[]).map(text), [
      'arn:{AWS::Partition}:ssm:eu-west-1:111111111111:parameter/dachat-test',
      'arn:{AWS::Partition}:ssm:eu-west-1:111111111111:parameter/dachat-test/*',
    ]);
    const kms = all.find((s) => s.Sid === 'DecryptOwnSecureStringsThroughSsm');
    assert.ok(kms);
    assert.equal(kms.Action, 'kms:Decrypt');
    const condition = kms.Condition as Record<string, Record<string, unknown>>;
    assert.deepEqual(condition.StringEquals, { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' });
    assert.equal(text(condition.StringLike['kms:EncryptionContext:PARAMETER_ARN']),
      'arn:{AWS::Partition}:ssm:eu-west-1:111111111111:parameter/dachat-test/*');
    for (const template of [main, dev]) {
      for (const statement of statements(template)) {
        assert.notEqual(statement.Resource, '*', `no statement on every resource: ${JSON.stringify(statement)}`);
        assert.ok(!String(statement.Action).includes('*'), `no wildcard action: ${JSON.stringify(statement)}`);
      }
    }
  });

  test('its stage is throttled (rate and burst as settings) and logs no token', () => {
    main.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { Format: ACCESS_LOG_FORMAT, DestinationArn: Match.anyValue() },
    });
    for (const forbidden of ['$request', 'authorizer', 'header', 'querystring', 'body']) {
      assert.ok(!ACCESS_LOG_FORMAT.toLowerCase().includes(forbidden.toLowerCase()), `the access log names no ${forbidden}`);
    }
    const throttled = synth(settings({ throttleRate: 7, throttleBurst: 9 })).main;
    throttled.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
  });

  test('allows CORS from the configured origins only', () => {
    main.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://toolbox.distributeaid.org'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['content-type', 'authorization'],
      },
    });
    const closed = synth(settings({ corsOrigins: [] })).main;
    closed.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });

  test('keeps its logs for the configured days', () => {
    const groups = Object.values(main.findResources('AWS::Logs::LogGroup'));
    assert.equal(groups.length, 3, 'the function, the access log and the sweep');
    for (const group of groups) assert.equal((group as { Properties: { RetentionInDays: number } }).Properties.RetentionInDays, 30);
  });
});

describe('the notifications table', () => {
  test('is on demand, recoverable, expires items by `expires`, and kept on stack deletion', () => {
    main.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
        // the reply routes, listed without a scan (the retention, `dachat forget`)
        GlobalSecondaryIndexes: [{
          IndexName: 'reply-routes',
          KeySchema: [{ AttributeName: 'routes', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['identity', 'context', 'expires'] },
        }],
      },
    });
  });

  test('is named to the token service, which may touch its items and nothing else', () => {
    main.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DACHAT_NOTIFY_TABLE: { Ref: Match.stringLikeRegexp('^NotifyTable') } } },
    });
    const items = statements(main).find((s) => s.Sid === 'NotifyTableItems');
    assert.ok(items);
    assert.deepEqual(items.Action, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:ConditionCheckItem',
    ]);
    assert.match(JSON.stringify(items.Resource), /NotifyTable.*Arn/);
    // the table and its reply-routes index, nothing else
    const resources = items.Resource as unknown[];
    assert.equal(resources.length, 2);
    assert.match(JSON.stringify(resources[1]), /\/index\/reply-routes/);
    assert.ok(!statements(main).some((s) => String(s.Action).includes('dynamodb:Scan')), 'no scans');
  });
});

describe('the notification sweep', () => {
  const sweeps = () => main.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('notification sweep') },
  });

  test('runs once a minute, one at a time, within its timeout, without retries', () => {
    const [id, sweep] = Object.entries(sweeps())[0] as [string, { Properties: Record<string, unknown> }];
    assert.equal(sweep.Properties.ReservedConcurrentExecutions, 1);
    assert.equal(sweep.Properties.Timeout, 60);
    assert.deepEqual(sweep.Properties.Architectures, ['arm64']);
    main.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    main.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  test('knows the table, the toolbox link and the API, and may touch only the table\'s items', () => {
    const sweep = Object.values(sweeps())[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    const vars = sweep.Properties.Environment.Variables;
    assert.equal(vars.DACHAT_NOTIFY_LINK, NOTIFY_LINK);
    assert.equal(vars.STACK_NAME, 'dachat-test');
    assert.match(JSON.stringify(vars.DACHAT_NOTIFY_TABLE), /NotifyTable/);
    assert.match(JSON.stringify(vars.DACHAT_PUBLIC_URL), /ApiEndpoint/);
    const items = statements(main).filter((s) => s.Sid === 'NotifyTableItems');
    assert.equal(items.length, 2, 'the token service and the sweep, each on the table only');
    for (const statement of items) assert.match(JSON.stringify(statement.Resource), /NotifyTable.*Arn/);
  });

  test('replies by e-mail: both functions know the reply domain, and the stack names the Inbound Parse URL', () => {
    const { main: replying } = synth(settings({ notifyLink: NOTIFY_LINK, replyDomain: 'reply.chat.example.org' }));
    const functions = Object.values(replying.findResources('AWS::Lambda::Function')) as {
      Properties: { Description?: string; Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const domains = functions
      .filter((f) => /token service|notification sweep/.test(f.Properties.Description ?? ''))
      .map((f) => f.Properties.Environment?.Variables?.DACHAT_REPLY_DOMAIN);
    assert.deepEqual(domains, ['reply.chat.example.org', 'reply.chat.example.org']);
    const output = replying.findOutputs('InboundParseUrl');
    assert.match(JSON.stringify(output), /v1\/inbound\/sendgrid\?key=/);
    assert.match(JSON.stringify(output), /chat\/inboundKey/);
    // off without it: no reply domain anywhere, no output
    assert.equal(Object.keys(main.findOutputs('InboundParseUrl')).length, 0);
    assert.doesNotMatch(JSON.stringify(main.toJSON()), /DACHAT_REPLY_DOMAIN/);
    assert.throws(() => readSettings((key) => (key === 'replyDomain' ? 'reply@example.org' : undefined)),
      /setting replyDomain: .* must be a domain name/);
    assert.throws(() => readSettings((key) => (key === 'replyDomain' ? 'reply.example.org' : undefined)),
      /set notifyLink too/);
  });

  test('is made for a retention alone, which it is given, without notification e-mail', () => {
    const keeping = synth(settings({ notifyLink: undefined, retention: 'shipment-=365,general=90' })).main;
    keeping.resourceCountIs('AWS::Events::Rule', 1);
    const sweeps = keeping.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('notification sweep') },
    });
    assert.equal(Object.keys(sweeps).length, 1);
    const environment = JSON.stringify(Object.values(sweeps)[0]);
    assert.match(environment, /"DACHAT_RETENTION":"shipment-=365,general=90"/);
    assert.doesNotMatch(environment, /DACHAT_NOTIFY_LINK/);
    for (const bad of ['general=0', 'general=ninety', 'gen eral=3', ' , ', 'general=36501']) {
      assert.throws(() => readSettings((key) => (key === 'retention' ? bad : undefined)),
        /setting retention: .* must be ROOM=DAYS/, bad);
    }
    assert.equal(readSettings((key) => (key === 'retention' ? '90' : undefined)).retention, '90');
  });

  test('is made only when notification e-mail is on (notifyLink set)', () => {
    const off = synth(settings({ notifyLink: undefined })).main;
    off.resourceCountIs('AWS::Events::Rule', 0);
    assert.equal(Object.keys(off.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('notification sweep') },
    })).length, 0);
    assert.throws(() => readSettings((key) => (key === 'notifyLink' ? 'http://toolbox.example/chat' : undefined)),
      /setting notifyLink: .* must be an https URL with \{context\}/);
  });
});

describe('the widget hosting', () => {
  test('is a private, TLS-only bucket', () => {
    main.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    main.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('is read by CloudFront only, through Origin Access Control', () => {
    main.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    main.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    main.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' }),
        ]),
      },
    });
  });

  test('is compressed, nosniff, CORS for the toolbox, and cached as each file says', () => {
    main.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultCacheBehavior: { Compress: true, ViewerProtocolPolicy: 'redirect-to-https' },
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
      },
    });
    main.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: { ContentTypeOptions: { Override: true } },
        CorsConfig: {
          AccessControlAllowOrigins: { Items: ['https://toolbox.distributeaid.org'] },
          AccessControlAllowMethods: { Items: ['GET', 'HEAD'] },
          AccessControlAllowCredentials: false,
        },
      },
    });
    // min 0: `no-cache` and the loader's 5 minutes are honoured; max a year:
    // the hashed files' `max-age=31536000, immutable` is honoured too
    main.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: {
        MinTTL: 0,
        MaxTTL: 31536000,
        ParametersInCacheKeyAndForwardedToOrigin: { EnableAcceptEncodingBrotli: true, EnableAcceptEncodingGzip: true },
      },
    });
  });
});

test('the outputs are the API URL, the widget base URL, its bucket and distribution, and the script tag', () => {
  const outputs = main.findOutputs('*');
  assert.deepEqual(Object.keys(outputs).sort(), ['ApiUrl', 'ScriptTag', 'WidgetBaseUrl', 'WidgetBucket', 'WidgetDistributionId']);
  const tag = text(outputs.ScriptTag.Value);
  assert.match(tag, /^<script src="https:\/\/\{?.*\/widget\/dachat\.js" data-api=".*" data-context="CONTEXT" data-token="HOST_JWT" async><\/script>$/);
});

test('the dev-extras stack reads only its own key parameters', () => {
  dev.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'], Runtime: 'provided.al2023' });
  const ssm = statements(dev).find((s) => s.Sid === 'ReadOwnParameters');
  assert.ok(ssm);
  assert.deepEqual((ssm.Resource as unknown[]).map(text), [
    'arn:{AWS::Partition}:ssm:eu-west-1:111111111111:parameter/dachat-test-dev-extras/chat-development',
    'arn:{AWS::Partition}:ssm:eu-west-1:111111111111:parameter/dachat-test-dev-extras/chat-development/*',
  ]);
  dev.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } });
  assert.ok(dev.findOutputs('DevTokenUrl'));
});

test('bad settings stop the synth with the setting named', () => {
  const read = (context: Record<string, string>, env: Record<string, string> = {}) => () =>
    readSettings((key) => context[key], env);
  assert.throws(read({ throttleRate: 'fast' }), /setting throttleRate: must be a whole number from 1 to 10000/);
  assert.throws(read({ corsOrigins: 'https://toolbox.example/' }), /setting corsOrigins: "https:\/\/toolbox.example\/" must be an exact origin/);
  assert.throws(read({ logRetentionDays: '31' }), /setting logRetentionDays: CloudWatch keeps logs for one of/);
  assert.throws(read({}, { STACK_NAME: 'no spaces' }), /STACK_NAME "no spaces"/);
  assert.equal(readSettings(() => undefined, { DACHAT_THROTTLE_BURST: '20' }).throttleBurst, 20, 'the environment is read too');
  assert.equal(readSettings(() => undefined, {}).stackName, 'twilio-integration-dev', "the seed's default stack name");
  assert.throws(() => synth(settings({ lambdaDir: '/nonexistent' })), /bootstrap is missing: build it first with `cargo xtask dist`/);
});
