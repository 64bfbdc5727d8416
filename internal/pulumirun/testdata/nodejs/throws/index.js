"use strict";
const aws = require("@pulumi/aws");

const api = new aws.apigatewayv2.Api("api", { protocolType: "HTTP" });
exports.url = apiEndpoint;
