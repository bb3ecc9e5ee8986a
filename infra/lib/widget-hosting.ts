// The widget's home: a private S3 bucket (no public access, TLS only) that
// only CloudFront may read (Origin Access Control), served compressed with
// `nosniff` and CORS for the toolbox's origin (the loader imports the WASM
// glue as a module, which needs CORS). How long caches keep each file is
// the file's own Cache-Control, set by `dachat publish` (the loader 5
// minutes, hashed files a year), so the cache policy's minimum is 0.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { skipChecks } from './checks.ts';

/** The key prefix (and URL path) the widget lives under. */
export const WIDGET_PREFIX = 'widget/';

export interface WidgetHostingProps {
  /** Origins allowed to fetch the widget's files; none: any (they are public). */
  corsOrigins: string[];
}

export class WidgetHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<domain>/widget/`. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: WidgetHostingProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // a loader overwritten by mistake can be brought back
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const cachePolicy = new cloudfront.CachePolicy(this, 'CachePolicy', {
      comment: 'DAChat widget: the object Cache-Control decides (loader minutes, hashed files a year)',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.minutes(5),
      maxTtl: Duration.days(365),
      enableAcceptEncodingBrotli: true,
      enableAcceptEncodingGzip: true,
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'DAChat widget: nosniff, HSTS, CORS for the toolbox',
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: false, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
      corsBehavior: {
        accessControlAllowOrigins: props.corsOrigins.length > 0 ? props.corsOrigins : ['*'],
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowHeaders: ['*'],
        accessControlAllowCredentials: false,
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'DAChat widget',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        compress: true,
        cachePolicy,
        responseHeadersPolicy: headers,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
    });
    skipChecks(this.bucket, [
      ['CKV_AWS_18', 'CloudFront is the only reader (Origin Access Control); requests are seen at the CDN, not at the bucket'],
    ]);
    skipChecks(this.distribution, [
      ['CKV_AWS_68', 'serves public static files; abuse of the API is stopped by its stage throttling, and a WAF adds a monthly cost for no protected data'],
      ['CKV_AWS_86', 'public static files whose requests carry no user data; standard logging needs an ACL-enabled log bucket, left to operators who want it'],
      ['CKV_AWS_174', 'uses the default *.cloudfront.net certificate, for which CloudFront sets the TLS policy; a minimum protocol version needs a custom domain certificate'],
    ]);
    this.baseUrl = `https://${this.distribution.distributionDomainName}/${WIDGET_PREFIX}`;
  }
}
