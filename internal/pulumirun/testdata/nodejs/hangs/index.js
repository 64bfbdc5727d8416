"use strict";
const aws = require("@pulumi/aws");

new aws.apigatewayv2.Api("api", { protocolType: "HTTP" });
setInterval(() => {}, 1000);
