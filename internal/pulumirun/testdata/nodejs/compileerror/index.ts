import * as aws from "@pulumi/aws";

const api = new aws.apigatewayv2.Api("api", { protocolType: "HTTP" });

const count: number = api.name;
