// The benchmark's Node.js function: returns its event unchanged.
exports.handler = async (event) => event;
