// DAChat's two stacks. `${STACK_NAME}`: the token service and the widget's
// hosting, with the outputs an operator needs (the API URL, the widget's
// base URL and bucket, the `<script>` tag). `${STACK_NAME}-dev-extras`
// (optional, test stages only): the seed's dev token API, for trying a
// stage without the toolbox, behind an API key and with an issuer the token
// service refuses by default. Notification e-mail adds its table, and with `notifyLink` set
// its one-minute sweep.
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

import { skipChecks } from './checks.ts';
import { LambdaApi } from './lambda-api.ts';
import { NotifySweep } from './notify-sweep.ts';
import type { Settings } from './settings.ts';
import { WIDGET_PREFIX, WidgetHosting } from './widget-hosting.ts';

export class DachatStack extends Stack {
  readonly tokenService: LambdaApi;
  readonly widget: WidgetHosting;
  /**
   * What notifications keep (backend/src/notify/dynamo_store.rs): claims, codes, subscriptions;
   * and the token service's last aligned room set per user, shared by its instances
   * (backend/src/twilio/aligned_dynamo.rs).
   */
  readonly notifyTable: dynamodb.Table;
  /** The one-minute sweep, when notification e-mail is on (`notifyLink`). */
  readonly notifySweep?: NotifySweep;

  constructor(scope: Construct, settings: Settings, props: StackProps = {}) {
    super(scope, settings.stackName, {
      description: 'DAChat: context-scoped chat (token service and widget hosting)',
      ...props,
    });
    this.notifyTable = new dynamodb.Table(this, 'NotifyTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // expired claims, codes and code log entries go within days; reads check `expires` themselves
      timeToLiveAttribute: 'expires',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // every reply route, so the retention (and `dachat forget`) find them
    // without a scan: sparse (only routes carry `routes`), a few attributes
    this.notifyTable.addGlobalSecondaryIndex({
      indexName: 'reply-routes',
      partitionKey: { name: 'routes', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['identity', 'context', 'expires'],
    });
    skipChecks(this.notifyTable, [
      ['CKV_AWS_119', 'encrypted at rest with the AWS-owned key; holds addresses and code hashes, no message content, and a customer-managed key adds a key policy to run'],
    ]);
    this.tokenService = new LambdaApi(this, 'TokenService', {
      binary: 'dachat-lambda',
      lambdaDir: settings.lambdaDir,
      description: 'DAChat token service: host JWT -> Twilio Conversations session',
      environment: { STACK_NAME: settings.stackName, RUST_LOG: 'info', DACHAT_NOTIFY_TABLE: this.notifyTable.tableName },
      parameterPath: `/${settings.stackName}/`,
      throttleRate: settings.throttleRate,
      throttleBurst: settings.throttleBurst,
      logRetentionDays: settings.logRetentionDays,
      corsOrigins: settings.corsOrigins,
      memoryMb: 256,
    });
    // the items it reads and writes, on this table only (no scans, no table admin)
    const tableItems = () =>
      new iam.PolicyStatement({
        sid: 'NotifyTableItems',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:ConditionCheckItem',
        ],
        resources: [this.notifyTable.tableArn, `${this.notifyTable.tableArn}/index/reply-routes`],
      });
    this.tokenService.function.addToRolePolicy(tableItems());
    // unsubscribe links point at the API itself
    this.tokenService.function.addEnvironment('DACHAT_PUBLIC_URL', this.tokenService.url);
    // replies by e-mail: the sweep writes the addresses, the token service takes the replies
    const replies: Record<string, string> = settings.replyDomain === undefined ? {} : { DACHAT_REPLY_DOMAIN: settings.replyDomain };
    for (const [name, value] of Object.entries(replies)) this.tokenService.function.addEnvironment(name, value);
    if (settings.notifyLink !== undefined || settings.retention !== undefined) {
      if (settings.notifyLink !== undefined) this.tokenService.function.addEnvironment('DACHAT_NOTIFY_LINK', settings.notifyLink);
      // the id stays as deployed: a new one would replace the function and its rule
      this.notifySweep = new NotifySweep(this, 'NotificationSweep', {
        lambdaDir: settings.lambdaDir,
        environment: {
          STACK_NAME: settings.stackName,
          RUST_LOG: 'info',
          DACHAT_NOTIFY_TABLE: this.notifyTable.tableName,
          DACHAT_PUBLIC_URL: this.tokenService.url,
          ...(settings.notifyLink === undefined ? {} : { DACHAT_NOTIFY_LINK: settings.notifyLink }),
          ...(settings.retention === undefined ? {} : { DACHAT_RETENTION: settings.retention }),
          ...replies,
        },
        parameterPath: `/${settings.stackName}/`,
        logRetentionDays: settings.logRetentionDays,
        tableItems: tableItems(),
        table: this.notifyTable,
      });
    }
    this.widget = new WidgetHosting(this, 'Widget', { corsOrigins: settings.corsOrigins });

    const api = this.tokenService.url;
    new CfnOutput(this, 'ApiUrl', { value: api, description: 'The token service (data-api of the script tag)' });
    if (settings.replyDomain !== undefined) {
      new CfnOutput(this, 'InboundParseUrl', {
        value: `${api}/v1/inbound/sendgrid?key=`,
        description: `SendGrid Inbound Parse URL for ${settings.replyDomain}: append the value of /${settings.stackName}/chat/inboundKey`,
      });
    }
    new CfnOutput(this, 'WidgetBaseUrl', { value: this.widget.baseUrl, description: 'Where the widget is served from' });
    new CfnOutput(this, 'WidgetBucket', {
      value: this.widget.bucket.bucketName,
      description: `dachat publish --bucket <this> (files under ${WIDGET_PREFIX})`,
    });
    new CfnOutput(this, 'WidgetDistributionId', {
      value: this.widget.distribution.distributionId,
      description: 'dachat publish --invalidate <this>',
    });
    new CfnOutput(this, 'ScriptTag', {
      value: `<script src="${this.widget.baseUrl}dachat.js" data-api="${api}" data-context="CONTEXT" data-token="HOST_JWT" async></script>`,
      description: 'Paste into the toolbox page; fill in the context and the host JWT',
    });
  }
}

export class DevExtrasStack extends Stack {
  readonly tokenApi: LambdaApi;

  constructor(scope: Construct, settings: Settings, props: StackProps = {}) {
    super(scope, `${settings.stackName}-dev-extras`, {
      description:
        'DAChat dev extras (test stages only): signs host JWTs for any identity and room, issuer dachat-dev-extras, for callers with its API key (SSM chat-development/apiKey)',
      ...props,
    });
    this.tokenApi = new LambdaApi(this, 'DevTokens', {
      binary: 'dachat-dev-token',
      lambdaDir: settings.lambdaDir,
      description: 'DAChat dev extras: POST /token?identity=...&context=a,b',
      environment: { STACK_NAME: settings.stackName, RUST_LOG: 'info' },
      parameterPath: `/${settings.stackName}-dev-extras/chat-development/`,
      // a person trying things out, not a load
      throttleRate: 5,
      throttleBurst: 10,
      logRetentionDays: settings.logRetentionDays,
      corsOrigins: [],
      memoryMb: 128,
    });
    new CfnOutput(this, 'DevTokenUrl', {
      value: `${this.tokenApi.url}/token`,
      description:
        "curl -X POST -H 'Authorization: Bearer <apiKey>' '<this>?identity=alex&context=general,random' (the stage must set chat/acceptDevTokens=on)",
    });
  }
}
