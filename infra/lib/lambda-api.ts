// A Rust Lambda (arm64, provided.al2023, the `bootstrap` that `cargo xtask
// dist` builds) behind an HTTP API whose one stage is throttled and logs
// every request without its body, headers or query (so no token is ever
// written down). Both stacks' APIs are made by this one construct.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { LAMBDA_SKIPS, LOGS_HOLD_NO_SECRETS, skipChecks } from './checks.ts';

/**
 * What an access log line holds: who, when, which route, how it went and
 * how long it took. Never `$request.*` (headers, query, body) nor
 * `$context.authorizer.*`: host JWTs travel in bodies and the
 * Authorization header, and must not reach a log.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  time: '$context.requestTime',
  method: '$context.httpMethod',
  route: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  bytes: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationMs: '$context.integrationLatency',
  error: '$context.integrationErrorMessage',
});

export interface LambdaApiProps {
  /** The Lambda binary's name: its `bootstrap` is in `<lambdaDir>/<binary>/`. */
  binary: string;
  lambdaDir: string;
  description: string;
  environment: Record<string, string>;
  /** The SSM folder (`/name/`) the function may read, and nothing else. */
  parameterPath: string;
  throttleRate: number;
  throttleBurst: number;
  logRetentionDays: number;
  /** Exact browser origins allowed to call the API (none: no CORS). */
  corsOrigins: string[];
  memoryMb: number;
}

/** A Rust Lambda of `cargo xtask dist`: its own log group, and read access to one SSM folder. */
export interface RustLambdaProps {
  binary: string;
  lambdaDir: string;
  description: string;
  environment: Record<string, string>;
  /** The SSM folder (`/name/`) the function may read, and nothing else. */
  parameterPath: string;
  logRetentionDays: number;
  memoryMb: number;
  timeout?: Duration;
  /** At most this many at once (the notification sweep: 1). */
  reservedConcurrency?: number;
}

/** The function itself (used by `LambdaApi` and the notification sweep). */
export function rustLambda(scope: Construct, props: RustLambdaProps): lambda.Function {
  const code = path.join(props.lambdaDir, props.binary);
  if (!fs.existsSync(path.join(code, 'bootstrap'))) {
    throw new Error(`${path.join(code, 'bootstrap')} is missing: build it first with \`cargo xtask dist\``);
  }
  const functionLogs = new logs.LogGroup(scope, 'FunctionLogs', {
    retention: props.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const fn = new lambda.Function(scope, 'Function', {
    description: props.description,
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: lambda.Architecture.ARM_64,
    handler: 'bootstrap',
    code: lambda.Code.fromAsset(code),
    memorySize: props.memoryMb,
    timeout: props.timeout ?? Duration.seconds(10),
    environment: props.environment,
    logGroup: functionLogs,
    reservedConcurrentExecutions: props.reservedConcurrency,
  });
  skipChecks(functionLogs, [LOGS_HOLD_NO_SECRETS]);

  // SSM: this stack's parameters only; SecureStrings decrypt only through SSM.
  const { account, region, partition } = fn.stack;
  const folder = props.parameterPath.replace(/\/$/, '');
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadOwnParameters',
      actions: ['ssm:GetParametersByPath', 'ssm:GetParameters', 'ssm:GetParameter'],
      resources: [
        `arn:${partition}:ssm:${region}:${account}:parameter${folder}`,
        `arn:${partition}:ssm:${region}:${account}:parameter${folder}/*`,
      ],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'DecryptOwnSecureStringsThroughSsm',
      actions: ['kms:Decrypt'],
      resources: [`arn:${partition}:kms:${region}:${account}:key/*`],
      conditions: {
        StringEquals: { 'kms:ViaService': `ssm.${region}.amazonaws.com` },
        StringLike: {
          'kms:EncryptionContext:PARAMETER_ARN': `arn:${partition}:ssm:${region}:${account}:parameter${folder}/*`,
        },
      },
    }),
  );
  return fn;
}

export class LambdaApi extends Construct {
  readonly function: lambda.Function;
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly url: string;

  constructor(scope: Construct, id: string, props: LambdaApiProps) {
    super(scope, id);
    this.function = rustLambda(this, props);
    skipChecks(this.function, LAMBDA_SKIPS);
    const retention = props.logRetentionDays as logs.RetentionDays;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: props.description,
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Lambda', this.function),
      corsPreflight:
        props.corsOrigins.length === 0
          ? undefined
          : {
              allowOrigins: props.corsOrigins,
              allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
              allowHeaders: ['content-type', 'authorization'],
              maxAge: Duration.days(1),
            },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    skipChecks(accessLogs, [LOGS_HOLD_NO_SECRETS]);
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate, burstLimit: props.throttleBurst },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    // the $default stage is served at the API endpoint itself
    this.url = this.api.apiEndpoint;
  }
}
