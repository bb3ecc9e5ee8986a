// The CDK app: `npx cdk deploy` deploys `${STACK_NAME}` (default
// twilio-integration-dev); `npx cdk deploy ${STACK_NAME}-dev-extras` the
// optional dev token API. Settings: README, section "Deploy to AWS".
import { App } from 'aws-cdk-lib';

import { readSettings } from '../lib/settings.ts';
import { DachatStack, DevExtrasStack } from '../lib/stacks.ts';

const app = new App();
const settings = readSettings((key) => app.node.tryGetContext(key));
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
new DachatStack(app, settings, { env });
new DevExtrasStack(app, settings, { env });
