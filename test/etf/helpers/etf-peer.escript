#!/usr/bin/env escript
%%! +pc unicode
%% A long-lived OTP peer for the ETF tests: one request per line on stdin, one answer per line on stdout.
%% Hex carries bytes and source text so that no line ever holds a newline.
%%   reencode N HEX  -> ok HEX   term_to_binary(binary_to_term(Bytes), [{minor_version, N}])
%%   eval HEXSRC     -> ok HEX   the binary an Erlang expression (ending in ".") evaluates to
%%   format HEX      -> ok HEX   io_lib:format("~0tp", [binary_to_term(Bytes)]) as UTF-8
%%   equal HEX HEX   -> ok true|false   whether both decode to exactly equal terms (=:=)
%% A failure answers "error Reason".
-mode(compile).

main(_) ->
    ok = io:setopts(standard_io, [binary]),
    io:put_chars(<<"ready\n">>),
    loop().

loop() ->
    case io:get_line(standard_io, "") of
        eof -> ok;
        {error, _} -> ok;
        Line ->
            Words = binary:split(string:trim(Line), <<" ">>, [global]),
            Answer = try handle(Words) of
                         Result -> [<<"ok ">>, Result]
                     catch
                         Class:Reason -> [<<"error ">>, io_lib:format("~0p", [{Class, Reason}])]
                     end,
            io:put_chars([Answer, $\n]),
            loop()
    end.

handle([<<"reencode">>, Minor, Hex]) ->
    Term = binary_to_term(binary:decode_hex(Hex)),
    binary:encode_hex(term_to_binary(Term, [{minor_version, binary_to_integer(Minor)}]));
handle([<<"eval">>, Hex]) ->
    Source = unicode:characters_to_list(binary:decode_hex(Hex)),
    {ok, Tokens, _} = erl_scan:string(Source),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    {value, Bin, _} = erl_eval:exprs(Exprs, []),
    true = is_binary(Bin),
    binary:encode_hex(Bin);
handle([<<"format">>, Hex]) ->
    Term = binary_to_term(binary:decode_hex(Hex)),
    binary:encode_hex(unicode:characters_to_binary(io_lib:format("~0tp", [Term])));
handle([<<"equal">>, A, B]) ->
    atom_to_binary(binary_to_term(binary:decode_hex(A)) =:= binary_to_term(binary:decode_hex(B))).
