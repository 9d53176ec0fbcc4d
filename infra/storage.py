"""The documents bucket (confirmation letters and other files): private, versioned, KMS-encrypted,
TLS only."""

from __future__ import annotations

from infra import names
from infra.cfn import Json, get_att, sub
from infra.keys import data_key_arn

# Listed instead of `s3:*`: no wildcard actions anywhere, even in a Deny. Every object and listing
# action a client could send over plain HTTP, and the policy and ACL calls.
S3_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:DeleteBucketPolicy",
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionTagging",
    "s3:GetBucketAcl",
    "s3:GetBucketPolicy",
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
    "s3:GetObjectVersionTagging",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListMultipartUploadParts",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:RestoreObject",
]


def documents_bucket() -> dict[str, Json]:
    bucket_arn = get_att(names.DOCUMENTS_BUCKET, "Arn")
    return {
        names.DOCUMENTS_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": data_key_arn(),
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "ExpireOldVersionsAndIncompleteUploads",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 365},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                        }
                    ]
                },
            },
            "Metadata": {
                "why": "No server access logging: it needs a second bucket that would itself need logging; "
                "object-level access is audited with CloudTrail data events on this bucket instead. "
                "No object lock: letters are re-issued as new versions, and versioning keeps every one.",
            },
        },
        names.DOCUMENTS_BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": names.DOCUMENTS_BUCKET},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": S3_ACTIONS,
                            "Resource": [bucket_arn, sub(f"${{{names.DOCUMENTS_BUCKET}.Arn}}/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
