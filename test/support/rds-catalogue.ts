/**
 * RDS's catalogue, which moto does not implement, played in front of moto: an HTTP server on
 * loopback that answers DescribeDBEngineVersions and DescribeOrderableDBInstanceOptions (RDS's
 * query protocol, XML) from a list of offers, and passes every other request to moto. As RDS
 * does, an engine version given as a major ("18") matches all of its minors.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort } from '../../twin/moto.ts';

/** What RDS offers in the region: engine versions, and for each the instance classes and storage types. */
export type Offer = { engine: string; version: string; classes: string[]; storageTypes: string[] };

export type RdsCatalogue = { endpoint: string; close: () => Promise<void> };

const NS = 'http://rds.amazonaws.com/doc/2014-10-31/';

const response = (action: string, body: string) =>
  `<${action}Response xmlns="${NS}"><${action}Result>${body}</${action}Result>` +
  `<ResponseMetadata><RequestId>rds-catalogue</RequestId></ResponseMetadata></${action}Response>`;

const versionMatches = (asked: string | null, version: string) =>
  !asked || version === asked || version.startsWith(`${asked}.`);

function describe(action: string, form: URLSearchParams, offers: Offer[]): string {
  const engine = form.get('Engine');
  const asked = form.get('EngineVersion');
  const offered = offers.filter((o) => o.engine === engine && versionMatches(asked, o.version));
  if (action === 'DescribeDBEngineVersions') {
    const versions = offered.map(
      (o) =>
        `<DBEngineVersion><Engine>${o.engine}</Engine><EngineVersion>${o.version}</EngineVersion>` +
        `<DBParameterGroupFamily>${o.engine}${o.version.split('.')[0]}</DBParameterGroupFamily>` +
        '<Status>available</Status></DBEngineVersion>',
    );
    return response(action, `<DBEngineVersions>${versions.join('')}</DBEngineVersions>`);
  }
  const instanceClass = form.get('DBInstanceClass');
  const options = offered.flatMap((o) =>
    o.classes
      .filter((c) => !instanceClass || c === instanceClass)
      .flatMap((c) =>
        o.storageTypes.map(
          (storage) =>
            `<OrderableDBInstanceOption><Engine>${o.engine}</Engine>` +
            `<EngineVersion>${o.version}</EngineVersion>` +
            `<DBInstanceClass>${c}</DBInstanceClass><StorageType>${storage}</StorageType><Vpc>true</Vpc>` +
            '<SupportsStorageEncryption>true</SupportsStorageEncryption></OrderableDBInstanceOption>',
        ),
      ),
  );
  return response(action, `<OrderableDBInstanceOptions>${options.join('')}</OrderableDBInstanceOptions>`);
}

const CATALOGUE = ['DescribeDBEngineVersions', 'DescribeOrderableDBInstanceOptions'];

export async function startRdsCatalogue(motoPort: number, offers: Offer[]): Promise<RdsCatalogue> {
  const port = await freePort();
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const options = {
      host: '127.0.0.1',
      port: motoPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
    };
    const upstream = request(options, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action') ?? '';
      if (!CATALOGUE.includes(action)) return forward(req, res, body);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(describe(action, form, offers));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
