"""The buckets: documents (confirmation letters and other files): private, versioned,
KMS-encrypted, TLS only; open data (the OCDS bulk export): its export prefix readable by anyone,
nothing else public, versioned, SSE-S3-encrypted, TLS only."""

from __future__ import annotations

from infra import names
from infra.cfn import Json, get_att, sub
from infra.definitions import OPEN_DATA_PUBLIC_PREFIX
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
                **_versioned_without_acls(),
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
                    "Statement": [_tls_only(names.DOCUMENTS_BUCKET)],
                },
            },
        },
    }


def _versioned_without_acls() -> dict[str, Json]:
    """What both buckets keep alike: ACLs disabled, every version kept a year, unfinished uploads
    dropped after a week."""
    return {
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
    }


def _tls_only(bucket_id: str) -> Json:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": S3_ACTIONS,
        "Resource": [get_att(bucket_id, "Arn"), sub(f"${{{bucket_id}.Arn}}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


OPEN_DATA_WHY = (
    "Public by design: the OCDS releases the export writes under the public prefix are open data "
    "(issue 12: every deal machine-readable, for anyone to download), and carry no personal data. The "
    "bucket policy lets anyone GetObject under that prefix and nothing else: no listing (readers find "
    "a day's file by its documented key), no other key, no ACLs (ObjectOwnership BucketOwnerEnforced "
    "disables them; BlockPublicAcls and IgnorePublicAcls stay on). BlockPublicPolicy and "
    "RestrictPublicBuckets are off because they would block or void exactly that one statement."
)
OPEN_DATA_ENCRYPTION_WHY = (
    "Encrypted at rest with S3-managed keys (SSE-S3, AES256), not the data key: S3 decrypts an "
    "SSE-KMS object only for a caller allowed kms:Decrypt on the key, which an anonymous reader "
    "never is, so a KMS key would refuse every public download; and the content is public, so a "
    "customer managed key would protect nothing more."
)
OPEN_DATA_LOGGING_WHY = (
    "No server access logging: it needs a second bucket that would itself need logging; writes are "
    "audited with CloudTrail data events on this bucket, and anonymous reads of public data need no "
    "audit. No object lock: a day's export may be rewritten (a late release), and versioning keeps "
    "every version."
)


def open_data_bucket() -> dict[str, Json]:
    """The public open-data bucket: anyone may read objects under OPEN_DATA_PUBLIC_PREFIX, over TLS."""
    return {
        names.OPEN_DATA_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": False,
                    "RestrictPublicBuckets": False,
                },
                **_versioned_without_acls(),
            },
            "Metadata": {
                "why": OPEN_DATA_LOGGING_WHY,
                "public": OPEN_DATA_WHY,
                "encryption": OPEN_DATA_ENCRYPTION_WHY,
                "cfn_nag": {
                    "rules_to_suppress": [{"id": "W35", "reason": OPEN_DATA_LOGGING_WHY}]  # access logging
                },
                "checkov": {
                    "skip": [
                        {"id": "CKV_AWS_18", "comment": OPEN_DATA_LOGGING_WHY},  # access logging
                        {"id": "CKV_AWS_54", "comment": OPEN_DATA_WHY},  # BlockPublicPolicy
                        {"id": "CKV_AWS_56", "comment": OPEN_DATA_WHY},  # RestrictPublicBuckets
                        {"id": "CKV_AWS_145", "comment": OPEN_DATA_ENCRYPTION_WHY},  # KMS by default
                    ]
                },
            },
        },
        names.OPEN_DATA_BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": names.OPEN_DATA_BUCKET},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        _tls_only(names.OPEN_DATA_BUCKET),
                        {
                            "Sid": "PublicReadOfTheExport",
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": sub(f"${{{names.OPEN_DATA_BUCKET}.Arn}}/{OPEN_DATA_PUBLIC_PREFIX}*"),
                        },
                    ],
                },
            },
            "Metadata": {
                "why": OPEN_DATA_WHY,
                # S3 bucket policy should not allow * principal: the one Allow to it is the public read.
                "cfn_nag": {"rules_to_suppress": [{"id": "F16", "reason": OPEN_DATA_WHY}]},
            },
        },
    }
