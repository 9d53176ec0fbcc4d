"""Who signs the bearer tokens. Where Amazon Cognito has user pools, this stack's user pool: one
group per role, the organisation and industries as custom attributes, one public client, and the
user-pool authorizer on protected routes. The China regions have no Cognito user pools (CloudFormation
there has no AWS::Cognito::UserPool): there an external OIDC provider is named by parameters. Either
way the functions verify tokens themselves (marketplace.auth) from JWKS_URL, TOKEN_ISSUER, TOKEN_AUDIENCE.
Operations that manage users call the pool named by USER_POOL_ID, which is empty where there is none.

The pool's settings below (attributes, password policy, who creates users) are also what the local stack
creates on moto (infra/local/resources.py), in the shape both CloudFormation and the Cognito API take."""

from __future__ import annotations

from infra import names
from infra.cfn import NO_VALUE, Json, ref, sub
from marketplace.auth import ROLES

CHINA_REGIONS = ("cn-north-1", "cn-northwest-1")
ISSUER = "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${" + names.USER_POOL + "}"
CUSTOM_ATTRIBUTES = ("org_id", "industries")  # read as custom:org_id, custom:industries
USERNAME_ATTRIBUTES = ["email"]
AUTO_VERIFIED_ATTRIBUTES = ["email"]
# Users are created by an administrator: a role and an organisation are assigned, never self-declared.
ADMIN_CREATE_USER_CONFIG = {"AllowAdminCreateUserOnly": True}
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireLowercase": True,
    "RequireUppercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 3,
}


def if_user_pools(value: object, otherwise: object = NO_VALUE) -> Json:
    return {"Fn::If": [names.HAS_USER_POOLS, value, otherwise]}


def condition() -> Json:
    # Written on AWS::Region (not the partition) so that cfn-lint knows which regions it applies to.
    return {"Fn::Not": [{"Fn::Or": [{"Fn::Equals": [ref("AWS::Region"), r]} for r in CHINA_REGIONS]}]}


def parameters() -> Json:
    described = "the external OIDC provider's {} (China regions, which have no Cognito user pools)"
    return {
        names.EXTERNAL_TOKEN_ISSUER: {
            "Type": "String",
            "Default": "",
            "Description": described.format("issuer"),
        },
        names.EXTERNAL_JWKS_URL: {
            "Type": "String",
            "Default": "",
            "Description": described.format("https JWKS URL"),
        },
        names.EXTERNAL_TOKEN_AUDIENCE: {
            "Type": "String",
            "Default": "",
            "Description": described.format("audience (client id)"),
        },
    }


def rules() -> Json:
    """Where there is no user pool, refuse to deploy without the provider that replaces it."""
    return {
        "ExternalIdentityProviderWhereNoUserPools": {
            "RuleCondition": {"Fn::Contains": [list(CHINA_REGIONS), ref("AWS::Region")]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [ref(p), ""]}]},
                    "AssertDescription": f"{p} is required in the China regions (no user pools there)",
                }
                for p in (names.EXTERNAL_TOKEN_ISSUER, names.EXTERNAL_JWKS_URL, names.EXTERNAL_TOKEN_AUDIENCE)
            ],
        }
    }


def token_environment() -> dict[str, Json]:
    return {
        "JWKS_URL": if_user_pools(sub(ISSUER + "/.well-known/jwks.json"), ref(names.EXTERNAL_JWKS_URL)),
        "TOKEN_ISSUER": if_user_pools(sub(ISSUER), ref(names.EXTERNAL_TOKEN_ISSUER)),
        "TOKEN_AUDIENCE": if_user_pools(ref(names.USER_POOL_CLIENT), ref(names.EXTERNAL_TOKEN_AUDIENCE)),
        # The pool user-management operations call; "" where there is none (the external provider
        # manages its users itself).
        "USER_POOL_ID": if_user_pools(ref(names.USER_POOL), ""),
    }


def schema_attribute(name: str) -> Json:
    """A custom attribute as `Schema` takes it (CloudFormation and CreateUserPool alike)."""
    return {
        "Name": name,
        "AttributeDataType": "String",
        "Mutable": True,
        "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "512"},
    }


def group_description(role: str) -> str:
    return f"the {role} role (cognito:groups)"


def user_pool() -> dict[str, Json]:
    resources: dict[str, Json] = {
        names.USER_POOL: {
            "Type": "AWS::Cognito::UserPool",
            "Condition": names.HAS_USER_POOLS,
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": ref("AWS::StackName"),
                "DeletionProtection": "ACTIVE",
                "UsernameAttributes": list(USERNAME_ATTRIBUTES),
                "AutoVerifiedAttributes": list(AUTO_VERIFIED_ATTRIBUTES),
                "AdminCreateUserConfig": dict(ADMIN_CREATE_USER_CONFIG),
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {"PasswordPolicy": dict(PASSWORD_POLICY)},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "Schema": [schema_attribute(a) for a in CUSTOM_ATTRIBUTES],
            },
            "Metadata": {
                "why": "Users are created by an administrator (AllowAdminCreateUserOnly): a role and an "
                "organisation are assigned, never self-declared. Custom attributes are mutable for "
                "administrators only: the client below cannot write them. Not created in the China "
                "regions, which have no Cognito user pools (see the External* parameters).",
            },
        },
        names.USER_POOL_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "Condition": names.HAS_USER_POOLS,
            "Properties": {
                "UserPoolId": ref(names.USER_POOL),
                "ClientName": sub("${AWS::StackName}-api"),
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "IdTokenValidity": 60,
                "AccessTokenValidity": 60,
                "RefreshTokenValidity": 30,
                "TokenValidityUnits": {
                    "IdToken": "minutes",
                    "AccessToken": "minutes",
                    "RefreshToken": "days",
                },
                "ReadAttributes": ["email", "email_verified", "name"]
                + [f"custom:{a}" for a in CUSTOM_ATTRIBUTES],
                "WriteAttributes": ["email", "name"],
            },
            "Metadata": {"why": "A public client (no secret): browser and CLI clients cannot keep one."},
        },
    }
    for role in ROLES:
        resources[names.user_group(role)] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Condition": names.HAS_USER_POOLS,
            "Properties": {
                "UserPoolId": ref(names.USER_POOL),
                "GroupName": role,
                "Description": group_description(role),
            },
        }
    return resources
