// Zabbix webhook media type "SMS (smsgw)". Parameters: URL, Token, To, Subject, Message.
var params = JSON.parse(value);
var req = new HttpRequest();
req.addHeader('Content-Type: application/json');
req.addHeader('Authorization: Bearer ' + params.Token);
var text = params.Subject ? params.Subject + '\n' + params.Message : params.Message;
var resp = req.post(params.URL, JSON.stringify({phone: params.To, message: text}));
if (req.getStatus() !== 200) {
    throw 'smsgw answered ' + req.getStatus() + ': ' + resp;
}
return 'OK';
