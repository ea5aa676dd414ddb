// Syntax of the .sgp language (parser; tokens in SgpLexer.g4 — modes need a lexer grammar).
parser grammar Sgp;

options { tokenVocab = SgpLexer; }

// Newlines are whitespace; ';' may separate statements but is never required.
// Top-level statements are accepted by the grammar for the REPL; files reject them in the checker.
program : topItem* EOF ;

topItem
  : importDecl
  | constDecl
  | externDecl
  | fnDecl
  | templateDecl
  | useDefaults
  | statement
  ;

importDecl   : IMPORT string (AS ID)? SEMI? ;
constDecl    : CONST ID ASSIGN expr SEMI? ;
externDecl   : EXTERN FN ID LPAREN paramList? RPAREN SEMI? ;
fnDecl       : FN ID LPAREN paramList? RPAREN block ;
paramList    : param (COMMA param)* COMMA? ;
param        : ID (ASSIGN expr)? ;
templateDecl : TEMPLATE ID LBRACE (field (COMMA field)* COMMA?)? RBRACE ;
useDefaults  : USE ID optionList SEMI? ;   // `use defaults (...)`; the word is checked later

block : LBRACE statement* RBRACE ;

statement
  : LET ID ASSIGN expr SEMI?                                # letStmt
  | IF expr block (ELIF expr block)* (ELSE block)?          # ifStmt
  | FOR ID IN expr block                                    # forStmt
  | WHILE expr block                                        # whileStmt
  | BREAK SEMI?                                             # breakStmt
  | CONTINUE SEMI?                                          # continueStmt
  | RETURN expr? SEMI?                                      # returnStmt
  | YIELD expr SEMI?                                        # yieldStmt
  | GEN ID optionList? SEMI?                                # genStmt
  | SELECT ID FROM expr optionList? SEMI?                   # selectStmt
  | WITH optionList block                                   # withStmt
  | USE TEMPLATE string SEMI?                               # useTemplateStmt
  | ID block                                                # roleStmt
  | expr (ASSIGN expr)? SEMI?                               # exprStmt
  | SEMI                                                    # emptyStmt
  ;

optionList : LPAREN (field (COMMA field)* COMMA?)? RPAREN ;
field      : ID COLON expr ;

// Alternatives are listed from tightest to loosest binding.
expr
  : primary                                                 # primaryExpr
  | expr LPAREN argList? RPAREN                             # callExpr
  | expr LBRACK expr RBRACK                                 # indexExpr
  | expr DOT ID                                             # fieldExpr
  | op=(MINUS | SPAWN) expr                                 # prefixExpr
  | expr op=(STAR | SLASH | SLASHSLASH | PERCENT) expr      # binaryExpr
  | expr op=(PLUS | MINUS) expr                             # binaryExpr
  | expr op=(EQEQ | NEQ | LT | LE | GT | GE) expr           # binaryExpr
  | NOT expr                                                # notExpr
  | expr op=AND expr                                        # binaryExpr
  | expr op=OR expr                                         # binaryExpr
  ;

primary
  : INT                                                     # intLit
  | FLOAT                                                   # floatLit
  | (TRUE_LIT | FALSE_LIT)                                          # boolLit
  | NULL_LIT                                                  # nullLit
  | string                                                  # stringLit
  | ID                                                      # nameRef
  | LPAREN expr RPAREN                                      # parenExpr
  | LBRACK (expr (COMMA expr)* COMMA?)? RBRACK              # listLit
  | LBRACE (mapEntry (COMMA mapEntry)* COMMA?)? RBRACE      # mapLit
  | FORK (ID IN)? expr block                                # forkExpr
  ;

mapEntry : expr COLON expr ;
argList  : arg (COMMA arg)* COMMA? ;
arg      : (ID ASSIGN)? expr ;

string
  : open=(STR_OPEN | TRIPLE_OPEN) strPart* STR_CLOSE        # quotedString
  | RAW_STRING                                              # rawString
  | RAW_TSTRING                                             # rawTripleString
  ;

strPart
  : STR_TEXT                                                # textPart
  | STR_ESCAPE                                              # escapePart
  | (STR_LBRACE2 | STR_RBRACE2 | STR_RBRACE)                # bracePart
  | INTERP_OPEN expr RBRACE                                 # interpPart
  ;
