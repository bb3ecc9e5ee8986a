// checkov's findings that do not apply, skipped per resource with the
// reason next to each (checkov reads `Metadata.checkov.skip`), so every
// skip is visible in the template and reviewed with the code.
import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export type Skip = [id: string, reason: string];

/** Skips `checks` on the CloudFormation resource behind `construct`. */
export function skipChecks(construct: IConstruct, checks: Skip[]): void {
  const resource = construct.node.defaultChild ?? construct;
  if (!(resource instanceof CfnResource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  resource.addMetadata('checkov', { skip: checks.map(([id, comment]) => ({ id, comment })) });
}

export const LOGS_HOLD_NO_SECRETS: Skip = [
  'CKV_AWS_158',
  'CloudWatch Logs encrypts at rest with AWS-owned keys; these logs hold no tokens or secrets (the access log format names none, the service never logs one)',
];

export const LAMBDA_SKIPS: Skip[] = [
  ['CKV_AWS_116', 'invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations'],
  ['CKV_AWS_117', 'reaches only public endpoints (Twilio, the host JWKS, SSM); a VPC would add a NAT gateway and nothing to protect'],
  ['CKV_AWS_115', 'bounded by the stage throttling (throttleRate/throttleBurst); reserving concurrency takes it from the account pool, which new accounts have 10 of'],
  ['CKV_AWS_173', 'the environment holds STACK_NAME and RUST_LOG only; every secret is read from SSM SecureStrings at start'],
];
