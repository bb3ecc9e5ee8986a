// The notification sweep (backend/src/bin/dachat-notifier.rs): a Rust
// Lambda invoked once a minute by an EventBridge rule, one at a time
// (reserved concurrency 1), with a 60 s timeout for its 45 s budget. Why a
// schedule and not a delayed queue: ARCHITECTURE.md, "Notification timing".
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import { skipChecks } from './checks.ts';
import { rustLambda } from './lambda-api.ts';

export interface NotifySweepProps {
  lambdaDir: string;
  environment: Record<string, string>;
  parameterPath: string;
  logRetentionDays: number;
  /** What it may do on the notifications' table. */
  tableItems: iam.PolicyStatement;
  table: dynamodb.ITable;
}

export class NotifySweep extends Construct {
  readonly function: lambda.Function;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: NotifySweepProps) {
    super(scope, id);
    this.function = rustLambda(this, {
      binary: 'dachat-notifier',
      lambdaDir: props.lambdaDir,
      description: 'DAChat notification sweep: digests of missed messages, once a minute',
      environment: props.environment,
      parameterPath: props.parameterPath,
      logRetentionDays: props.logRetentionDays,
      memoryMb: 256,
      timeout: Duration.seconds(60),
      reservedConcurrency: 1,
    });
    this.function.addToRolePolicy(props.tableItems);
    skipChecks(this.function, [
      ['CKV_AWS_116', 'invoked by a one-minute schedule whose events carry nothing: a failed sweep is the next minute\'s, and what was due stays due in DynamoDB'],
      ['CKV_AWS_117', 'reaches only public endpoints (Twilio, SendGrid, SSM, DynamoDB); a VPC would add a NAT gateway and nothing to protect'],
      ['CKV_AWS_173', 'the environment holds names and URLs only; every secret is read from SSM SecureStrings at start'],
    ]);
    this.rule = new events.Rule(this, 'EveryMinute', {
      description: 'DAChat: one notification sweep a minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // a sweep missed is covered by the next one
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
