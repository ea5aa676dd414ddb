// Tokens of the .sgp language. Strings use lexer modes so interpolation can nest strings.
lexer grammar SgpLexer;

// A '{' inside a string pushes DEFAULT_MODE, and every '{' in DEFAULT_MODE pushes it again,
// so the matching '}' pops back to exactly the mode that opened it (string or code).

COMMENT : '#' ~[\r\n]* -> skip ;
WS      : [ \t\r\n\f\uFEFF]+ -> skip ;  // U+FEFF: a byte-order mark some editors write

RAW_TSTRING : 'r"""' .*? '"""' ;
RAW_STRING  : 'r"' ~["\r\n]* '"' ;
TRIPLE_OPEN : '"""' -> pushMode(TSTR) ;
STR_OPEN    : '"' -> pushMode(STR) ;

IMPORT   : 'import' ;
AS       : 'as' ;
CONST    : 'const' ;
EXTERN   : 'extern' ;
FN       : 'fn' ;
LET      : 'let' ;
IF       : 'if' ;
ELIF     : 'elif' ;
ELSE     : 'else' ;
FOR      : 'for' ;
IN       : 'in' ;
WHILE    : 'while' ;
BREAK    : 'break' ;
CONTINUE : 'continue' ;
RETURN   : 'return' ;
YIELD    : 'yield' ;
GEN      : 'gen' ;
SELECT   : 'select' ;
FROM     : 'from' ;
WITH     : 'with' ;
USE      : 'use' ;
TEMPLATE : 'template' ;
FORK     : 'fork' ;
SPAWN    : 'spawn' ;
TRUE_LIT : 'true' ;
FALSE_LIT: 'false' ;
NULL_LIT : 'null' ;
AND      : 'and' ;
OR       : 'or' ;
NOT      : 'not' ;

FLOAT : DIGITS '.' DIGITS EXPONENT? | DIGITS EXPONENT ;
INT   : DIGITS ;
ID    : [a-zA-Z_] [a-zA-Z_0-9]* ;

LBRACE   : '{' -> pushMode(DEFAULT_MODE) ;
RBRACE   : '}' -> popMode ;
LPAREN   : '(' ;
RPAREN   : ')' ;
LBRACK   : '[' ;
RBRACK   : ']' ;
COMMA    : ',' ;
COLON    : ':' ;
SEMI     : ';' ;
DOT      : '.' ;
EQEQ     : '==' ;
NEQ      : '!=' ;
LE       : '<=' ;
GE       : '>=' ;
LT       : '<' ;
GT       : '>' ;
ASSIGN   : '=' ;
PLUS     : '+' ;
MINUS    : '-' ;
STAR     : '*' ;
SLASHSLASH : '//' ;
SLASH    : '/' ;
PERCENT  : '%' ;

// Anything else becomes one token the compiler reports as "unexpected character".
BAD_CHAR : . ;

fragment DIGITS   : [0-9]+ ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
fragment HEX      : [0-9a-fA-F] ;
fragment ESCAPE   : '\\' ( [ntr"\\/bf0'{}] | 'u{' HEX+ '}' | 'u' HEX HEX HEX HEX ) ;

mode STR;
STR_TEXT     : ~["\\{}\r\n]+ ;
STR_ESCAPE   : ESCAPE ;
STR_BAD_ESCAPE : '\\' ~[\r\n]? ;
STR_LBRACE2  : '{{' ;
STR_RBRACE2  : '}}' ;
STR_RBRACE   : '}' ;
INTERP_OPEN  : '{' -> pushMode(DEFAULT_MODE) ;
STR_CLOSE    : '"' -> popMode ;
STR_NEWLINE  : [\r\n] ;

mode TSTR;
TSTR_CLOSE   : '"""' -> type(STR_CLOSE), popMode ;
TSTR_TEXT    : ~["\\{}]+ -> type(STR_TEXT) ;
TSTR_QUOTE   : '"' -> type(STR_TEXT) ;
TSTR_ESCAPE  : ESCAPE -> type(STR_ESCAPE) ;
TSTR_BAD_ESCAPE : '\\' . ? -> type(STR_BAD_ESCAPE) ;
TSTR_LBRACE2 : '{{' -> type(STR_LBRACE2) ;
TSTR_RBRACE2 : '}}' -> type(STR_RBRACE2) ;
TSTR_RBRACE  : '}' -> type(STR_RBRACE) ;
TSTR_INTERP  : '{' -> type(INTERP_OPEN), pushMode(DEFAULT_MODE) ;
