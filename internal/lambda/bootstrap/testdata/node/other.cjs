exports.handler = async () => 'cjs extension';
